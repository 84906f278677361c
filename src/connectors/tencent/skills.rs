//! The application's skill groups, name ↔ id, cached.
//!
//! `CreateStaff` takes skill groups by name while the model (and `ModifyStaff`) use ids, so creating
//! an agent needs the table. Fetching it costs `ceil(groups / 100)` reads, so it is cached: refreshed
//! when older than [`MAX_AGE`], or when an id is missing from it (a group created since), but not more
//! often than every [`MIN_REFRESH`] so a spec naming a group that does not exist cannot turn every
//! reconcile into a table fetch.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::connectors::VendorError;

/// Age after which the table is fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(300);
/// Shortest interval between two fetches caused by an unknown id.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);

/// Skill groups of one application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkillTable {
    by_id: BTreeMap<i64, String>,
}

impl SkillTable {
    /// A table from (id, name) pairs.
    pub fn new(groups: impl IntoIterator<Item = (i64, String)>) -> Self {
        SkillTable {
            by_id: groups.into_iter().collect(),
        }
    }

    /// The name of a group.
    pub fn name(&self, id: i64) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// Name → id (as text, the model's skill identifier). When two groups share a name, the lower id
    /// wins, so the answer does not depend on page order.
    pub fn ids_by_name(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (id, name) in &self.by_id {
            out.entry(name.clone()).or_insert_with(|| id.to_string());
        }
        out
    }
}

struct Cached {
    table: Arc<SkillTable>,
    fetched: Instant,
}

/// The cached table; concurrent callers that need a fetch wait for one fetch.
#[derive(Default)]
pub struct SkillCache {
    cached: Mutex<Option<Cached>>,
}

impl SkillCache {
    /// Drops the table: the next [`SkillCache::get`] fetches it (a group was created or deleted).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    /// The table, fetched with `fetch` when there is none, it is older than [`MAX_AGE`], or it lacks
    /// one of `need` and was fetched more than [`MIN_REFRESH`] ago.
    pub async fn get<F, Fut>(&self, need: &[i64], fetch: F) -> Result<Arc<SkillTable>, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SkillTable, VendorError>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let age = c.fetched.elapsed();
            let complete = need.iter().all(|id| c.table.name(*id).is_some());
            if age < MAX_AGE && (complete || age < MIN_REFRESH) {
                return Ok(c.table.clone());
            }
        }
        let table = Arc::new(fetch().await?);
        *cached = Some(Cached {
            table: table.clone(),
            fetched: Instant::now(),
        });
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn table() -> SkillTable {
        SkillTable::new([(101, "billing".into()), (102, "support".into())])
    }

    #[tokio::test(start_paused = true)]
    async fn fetches_once_then_on_age_or_unknown_ids() {
        let cache = SkillCache::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(table())
        };
        cache.get(&[101], fetch).await.unwrap();
        cache.get(&[101, 102], fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // an unknown id right away does not refetch...
        cache.get(&[999], fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // ...but does once the table is MIN_REFRESH old
        tokio::time::advance(MIN_REFRESH).await;
        cache.get(&[999], fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        tokio::time::advance(MAX_AGE).await;
        cache.get(&[], fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn names_map_to_the_lowest_id() {
        let t = SkillTable::new([(7, "a".into()), (3, "a".into()), (5, "b".into())]);
        assert_eq!(
            t.ids_by_name(),
            BTreeMap::from([("a".into(), "3".into()), ("b".into(), "5".into())])
        );
        assert_eq!(t.name(5), Some("b"));
    }
}
