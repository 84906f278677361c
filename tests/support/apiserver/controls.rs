//! Test controls: request counters and injected write failures.

use std::{collections::BTreeMap, fmt};

/// Requests seen, per verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`), resource
/// plural and subresource. A snapshot: take one before and one after, and compare with
/// [`Counters::since`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<super::tally::WriteKey, u64>);

impl Counters {
    pub(super) fn record(&mut self, verb: &str, plural: &str, subresource: Option<&str>) {
        let key = super::tally::write_key(verb, plural, subresource);
        *self.0.entry(key).or_default() += 1;
    }

    /// Requests of `verb` on `plural` (`Some("status")` for the status subresource).
    pub fn get(&self, verb: &str, plural: &str, subresource: Option<&str>) -> u64 {
        let key = super::tally::write_key(verb, plural, subresource);
        self.0.get(&key).copied().unwrap_or_default()
    }

    /// Requests of `verb` on `plural`, main resource and subresources together.
    pub fn resource_total(&self, verb: &str, plural: &str) -> u64 {
        self.0
            .iter()
            .filter(|((v, p, _), _)| v == verb && p == plural)
            .map(|(_, n)| n)
            .sum()
    }

    /// Writes (create, update, patch, delete) on `plural`, subresources included.
    pub fn writes(&self, plural: &str) -> u64 {
        ["create", "update", "patch", "delete"]
            .iter()
            .map(|verb| self.resource_total(verb, plural))
            .sum()
    }

    /// Every `(verb, plural, subresource)` seen, with its count.
    pub fn iter(&self) -> impl Iterator<Item = (&(String, String, String), &u64)> {
        self.0.iter()
    }

    /// What happened after `earlier` was taken.
    pub fn since(&self, earlier: &Counters) -> Counters {
        let diff = self
            .0
            .iter()
            .map(|(key, n)| (key.clone(), n - earlier.0.get(key).copied().unwrap_or_default()))
            .filter(|(_, n)| *n > 0)
            .collect();
        Counters(diff)
    }
}

impl fmt::Display for Counters {
    /// One `verb plural[/subresource] count` line per entry, for benchmark output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ((verb, plural, subresource), n) in &self.0 {
            let sub = if subresource.is_empty() {
                String::new()
            } else {
                format!("/{subresource}")
            };
            writeln!(f, "{verb} {plural}{sub} {n}")?;
        }
        Ok(())
    }
}

/// Failures to inject into the next writes.
#[derive(Debug, Default)]
pub(super) struct Faults {
    remaining: usize,
    status: u16,
}

impl Faults {
    pub(super) fn fail_next(&mut self, n: usize, status: u16) {
        self.remaining = n;
        self.status = status;
    }

    /// The status the current write must fail with, if any is still due.
    pub(super) fn take(&mut self) -> Option<u16> {
        (self.remaining > 0).then(|| {
            self.remaining -= 1;
            self.status
        })
    }
}
