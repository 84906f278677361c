//! Every create a simulator accepted, by account key, so tests can see a duplicate.
//!
//! The simulators store accounts in maps by key, so a second account of one key could never show
//! up there: a vendor whose uniqueness check is not atomic would hold two, and the map would merge
//! them. This ledger counts each accepted create instead, and the soak asserts that no key was
//! created twice.
//!
//! The `create_race_ms` fault models such a vendor: a create of a key that an accepted create
//! stored less than that long ago (real time) is taken as having arrived while the first was still
//! in flight, so it passes the uniqueness check too and becomes a duplicate account. Off (0), every
//! simulator answers with its documented "already exists" error.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the ledger knows about one key.
#[derive(Clone, Copy, Debug)]
struct KeyCreates {
    /// Creates accepted in all, duplicates included.
    accepted: u32,
    /// Creates accepted while an account of the key was held.
    duplicates: u32,
    /// When the last accepted create was stored.
    last: Instant,
}

/// Accepted creates per account key.
#[derive(Debug, Default)]
pub struct CreateLedger {
    keys: Mutex<BTreeMap<String, KeyCreates>>,
}

impl CreateLedger {
    fn keys(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, KeyCreates>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a create of `key` arriving now overlaps the last accepted create of `key`, which a
    /// vendor without an atomic uniqueness check `race` long would let through.
    pub fn races(&self, key: &str, race: Duration) -> bool {
        !race.is_zero() && self.keys().get(key).is_some_and(|k| k.last.elapsed() < race)
    }

    /// Records one accepted create of `key`; `duplicate` when an account of the key was held.
    pub fn record(&self, key: &str, duplicate: bool) {
        let mut keys = self.keys();
        let entry = keys.entry(key.to_string()).or_insert(KeyCreates {
            accepted: 0,
            duplicates: 0,
            last: Instant::now(),
        });
        entry.accepted += 1;
        entry.duplicates += u32::from(duplicate);
        entry.last = Instant::now();
    }

    /// Creates of `key` accepted so far (a create after a deletion counts again).
    pub fn creates_of(&self, key: &str) -> u32 {
        self.keys().get(key).map_or(0, |k| k.accepted)
    }

    /// Keys with a create accepted while an account of the key was held, and how many.
    pub fn duplicates(&self) -> BTreeMap<String, u32> {
        self.keys()
            .iter()
            .filter(|(_, k)| k.duplicates > 0)
            .map(|(key, k)| (key.clone(), k.duplicates))
            .collect()
    }

    /// Duplicate accounts in all.
    pub fn duplicate_count(&self) -> usize {
        self.keys().values().map(|k| k.duplicates as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_create_while_the_key_is_held_is_a_duplicate() {
        let ledger = CreateLedger::default();
        ledger.record("a", false);
        ledger.record("a", false); // created again after a deletion
        assert_eq!(ledger.creates_of("a"), 2);
        assert!(ledger.duplicates().is_empty());
        ledger.record("a", true);
        assert_eq!(ledger.duplicates(), BTreeMap::from([("a".to_string(), 1)]));
        assert_eq!(ledger.duplicate_count(), 1);
        assert_eq!(ledger.creates_of("b"), 0);
    }

    #[test]
    fn a_race_window_only_covers_recent_creates() {
        let ledger = CreateLedger::default();
        assert!(!ledger.races("a", Duration::from_secs(60)), "no create yet");
        ledger.record("a", false);
        assert!(ledger.races("a", Duration::from_secs(60)));
        assert!(!ledger.races("a", Duration::ZERO), "off");
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            !ledger.races("a", Duration::from_millis(1)),
            "the window has passed"
        );
    }
}
