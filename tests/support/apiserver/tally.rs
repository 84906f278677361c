//! Writes served, by verb, resource and subresource, named as a real kube-apiserver names them in
//! its `apiserver_request_total` metric: `POST`, `PUT`, `PATCH`, `APPLY` (a server-side apply
//! patch), `DELETE`. The same shape comes from the in-process server and from a cluster's
//! `/metrics`, so the benchmark reports both alike. [`super::Counters`] counts every request by the
//! RBAC verb instead, where a server-side apply is a `patch`.

use std::collections::BTreeMap;

/// `(verb, resource plural, subresource or "")`.
pub type WriteKey = (String, String, String);

/// The [`WriteKey`] of a request; [`super::Counters`] keys its RBAC verbs the same way.
pub(super) fn write_key(verb: &str, plural: &str, subresource: Option<&str>) -> WriteKey {
    (
        verb.to_string(),
        plural.to_string(),
        subresource.unwrap_or_default().to_string(),
    )
}

/// Writes per [`WriteKey`]. A snapshot: compare two with [`WriteTally::since`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteTally(BTreeMap<WriteKey, u64>);

impl WriteTally {
    pub(super) fn record(&mut self, verb: &str, plural: &str, subresource: Option<&str>) {
        let key = write_key(verb, plural, subresource);
        *self.0.entry(key).or_default() += 1;
    }

    /// Writes of `verb` (`"PATCH"`, `"APPLY"`, ...) on `plural` (`Some("status")` for status).
    pub fn get(&self, verb: &str, plural: &str, subresource: Option<&str>) -> u64 {
        let key = write_key(verb, plural, subresource);
        self.0.get(&key).copied().unwrap_or_default()
    }

    /// Writes on `plural`, subresources included.
    pub fn total(&self, plural: &str) -> u64 {
        self.0
            .iter()
            .filter(|((_, p, _), _)| p == plural)
            .map(|(_, n)| n)
            .sum()
    }

    /// Writes on `plural` by kind: `"PATCH"`, `"PATCH status"`, `"APPLY status"`, ...
    pub fn kinds(&self, plural: &str) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .filter(|((_, p, _), n)| p == plural && **n > 0)
            .map(|((verb, _, sub), n)| {
                let kind = if sub.is_empty() {
                    verb.clone()
                } else {
                    format!("{verb} {sub}")
                };
                (kind, *n)
            })
            .collect()
    }

    /// Every entry with its count.
    pub fn iter(&self) -> impl Iterator<Item = (&WriteKey, &u64)> {
        self.0.iter()
    }

    /// What happened after `earlier` was taken (a counter that went down, as after a cluster's
    /// server restarted, counts from zero).
    pub fn since(&self, earlier: &WriteTally) -> WriteTally {
        self.0
            .iter()
            .map(|(key, n)| {
                let before = earlier.0.get(key).copied().unwrap_or_default();
                (key.clone(), if *n >= before { n - before } else { *n })
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl FromIterator<(WriteKey, u64)> for WriteTally {
    /// Sums repeated keys (a metric has one series per response code).
    fn from_iter<I: IntoIterator<Item = (WriteKey, u64)>>(entries: I) -> WriteTally {
        let mut tally = BTreeMap::new();
        for (key, n) in entries {
            *tally.entry(key).or_default() += n;
        }
        WriteTally(tally)
    }
}
