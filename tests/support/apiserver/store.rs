//! The objects, the global resourceVersion and the event history.
//!
//! Every committed write takes the next resourceVersion (one counter for all kinds, as etcd's
//! revision), is recorded in a bounded history, and is offered to every open watch. A watch that
//! resumes from a resourceVersion older than the history gets `410 Gone`; [`Store::compact`]
//! forgets the history on demand so a test can force that.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
};

use serde_json::Value;

use super::{apply::Owners, resources::Resource, watch::Subscriber};

/// How many changes the history keeps; older resourceVersions get 410 Gone, as after an etcd
/// compaction. Large enough that only [`Store::compact`] triggers it in tests.
const HISTORY_LIMIT: usize = 50_000;

/// One stored object and its server-side-apply field owners.
#[derive(Debug, Clone)]
pub struct Stored {
    pub object: Value,
    pub owners: Owners,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// A committed write, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub resource: String,
    pub namespace: String,
    pub kind: ChangeKind,
    pub object: Arc<Value>,
    /// The object before the change, so a selector watch can turn an update into ADDED/DELETED.
    pub old: Option<Arc<Value>>,
}

/// Objects of one resource, ordered by namespace then name (etcd's key order).
type Objects = BTreeMap<(String, String), Stored>;

#[derive(Debug, Default)]
pub struct Store {
    rv: u64,
    objects: BTreeMap<String, Objects>,
    history: VecDeque<Arc<Change>>,
    /// The history holds every change with a resourceVersion above this.
    floor: u64,
    subscribers: Vec<Subscriber>,
}

/// The store key of a resource: group and plural (versions share storage).
pub fn resource_key(resource: &Resource) -> String {
    format!("{}/{}", resource.group, resource.plural)
}

impl Store {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<&Stored> {
        self.objects
            .get(&resource_key(resource))?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Objects of a resource in one namespace (`Some`) or all of them, in key order.
    pub fn list<'a>(
        &'a self,
        resource: &Resource,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Stored> + 'a {
        self.objects
            .get(&resource_key(resource))
            .into_iter()
            .flat_map(|objects| objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, stored)| stored)
    }

    /// Stores `new` (or deletes the object when `None`) under the next resourceVersion, records the
    /// change and notifies watches. Returns the object as committed (for a delete: its last state,
    /// stamped with the deleting resourceVersion, as the DELETED event carries it).
    pub fn commit(&mut self, resource: &Resource, namespace: &str, name: &str, new: Option<Stored>) -> Value {
        self.rv += 1;
        let rv = self.rv;
        let objects = self.objects.entry(resource_key(resource)).or_default();
        let key = (namespace.to_string(), name.to_string());
        let old = objects.get(&key).map(|s| Arc::new(s.object.clone()));
        let (kind, committed) = match new {
            Some(mut stored) => {
                stored.object["metadata"]["resourceVersion"] = Value::String(rv.to_string());
                let committed = stored.object.clone();
                let kind = if old.is_some() {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                };
                objects.insert(key, stored);
                (kind, committed)
            }
            None => {
                let mut last = objects.remove(&key).map(|s| s.object).unwrap_or(Value::Null);
                last["metadata"]["resourceVersion"] = Value::String(rv.to_string());
                (ChangeKind::Deleted, last)
            }
        };
        let change = Arc::new(Change {
            rv,
            resource: resource_key(resource),
            namespace: namespace.to_string(),
            kind,
            object: Arc::new(committed.clone()),
            old,
        });
        if self.history.len() == HISTORY_LIMIT
            && let Some(oldest) = self.history.pop_front()
        {
            self.floor = oldest.rv;
        }
        self.history.push_back(change.clone());
        self.subscribers.retain(|s| s.offer(&change));
        committed
    }

    /// The recorded changes after `rv`, or `Err(oldest available)` when they are no longer known.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Arc<Change>>, u64> {
        if rv < self.floor {
            return Err(self.floor);
        }
        Ok(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    pub fn subscribe(&mut self, subscriber: Subscriber) {
        self.subscribers.push(subscriber);
    }

    /// Ends every open watch stream (their senders are dropped).
    pub fn drop_watches(&mut self) {
        self.subscribers.clear();
    }

    /// Forgets the history. The resourceVersion moves on by one so that every version handed out
    /// before is now too old (a resumed watch gets 410 Gone) while a fresh list's is not.
    pub fn compact(&mut self) {
        self.rv += 1;
        self.floor = self.rv;
        self.history.clear();
    }
}
