//! The per-provider vendor snapshot: every account of the provider, in memory.
//!
//! Reconciles read from it instead of asking the vendor per agent, so reads cost about N / page size
//! calls per resync interval (one call when the vendor can list "changed since"), not N. The
//! operator's own writes update it. A refresh reports which accounts changed at the vendor, so only
//! those agents are requeued. For vendors that cannot list (Ozonetel) it is a per-account cache that
//! expires a little before each resync interval.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::connectors::paging::PageGuard;
use crate::connectors::{Listing, Vendor, VendorError};
use crate::core::ObservedAgent;

/// A full listing every this many refreshes, even for vendors that list incrementally: incremental
/// listings cannot show accounts deleted at the vendor.
const FULL_LISTING_EVERY: u32 = 6;

/// Incremental listings look back this far before the newest modification seen, so writes landing in
/// the same second as the last listing are not missed.
const WATERMARK_OVERLAP_SECS: i64 = 2;

#[derive(Default)]
struct State {
    agents: HashMap<String, Entry>,
    loaded: bool,
    watermark: Option<i64>,
    refreshes: u32,
    /// Numbers the listings, so an entry can say which listing last saw it (`Entry::listed`).
    listings: u64,
    /// When the vendor last answered a read made through the snapshot.
    answered_at: Option<Instant>,
}

struct Entry {
    agent: Option<ObservedAgent>,
    read_at: Instant,
    /// The entry is what the operator's own write should have left at the vendor, not what the vendor
    /// said: the vendor's answer may carry more (fields the spec leaves unmanaged, its own form of the id).
    written: bool,
    /// The number of the last listing that showed this account (0: none did).
    listed: u64,
}

impl Entry {
    /// Whether the vendor's listing of this account says something other than the entry.
    fn differs_from(&self, listed: &ObservedAgent) -> bool {
        let Some(old) = &self.agent else {
            return true;
        };
        if self.written {
            // Every field the write set must read back the same; a field the listing lacks counts as
            // changed (it may have been cleared in the console).
            old.external_id_or_key() != listed.external_id_or_key()
                || old.fields.iter().any(|(f, v)| listed.fields.get(f) != Some(v))
        } else {
            old.fields != listed.fields || old.external_id != listed.external_id
        }
    }
}

/// A listing being merged, page by page (`Snapshot::absorb`).
struct Merge {
    /// The listing's number (`State::listings`).
    number: u64,
    started: Instant,
    full: bool,
    /// Accounts the listing shows new or changed, stored when it ends.
    changed: Vec<ObservedAgent>,
    changed_keys: HashSet<String>,
    /// The newest modification time the listing showed.
    newest: Option<i64>,
}

/// Every account of one provider, as last seen.
pub struct Snapshot {
    state: Mutex<State>,
    /// One listing at a time: two would mark each other's accounts as not seen.
    listing: tokio::sync::Mutex<()>,
    /// How old a cached single-account read may get before it is read again (non-listing vendors).
    ttl: Duration,
}

impl Snapshot {
    /// An empty snapshot; `ttl` bounds the age of single-account reads for vendors that cannot list.
    pub fn new(ttl: Duration) -> Self {
        Snapshot {
            state: Mutex::new(State::default()),
            listing: tokio::sync::Mutex::new(()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("snapshot lock")
    }

    /// The account with `key`: from memory when the snapshot holds it (loading the full listing on
    /// first use), otherwise from the vendor. `fresh` forces a vendor read of this account.
    pub async fn observe(
        &self,
        vendor: &dyn Vendor,
        key: &str,
        fresh: bool,
    ) -> Result<Option<ObservedAgent>, VendorError> {
        match vendor.listing() {
            Listing::Paged { .. } if !fresh => {
                self.ensure_loaded(vendor).await?;
                Ok(self.lock().agents.get(key).and_then(|e| e.agent.clone()))
            }
            _ => {
                let cached = self
                    .lock()
                    .agents
                    .get(key)
                    .map(|e| (e.read_at.elapsed() < self.ttl, e.agent.clone()));
                let agent = match cached {
                    Some((true, agent)) if !fresh => return Ok(agent),
                    // A known account whose cached read expired: a periodic check, served after reads
                    // for spec changes.
                    Some((false, _)) if !fresh => vendor.get_for_resync(key).await?,
                    _ => vendor.get(key).await?,
                };
                self.lock().answered_at = Some(Instant::now());
                self.store(key, agent.clone(), false);
                Ok(agent)
            }
        }
    }

    /// Records what the vendor holds for `key` after a write (`None`: deleted).
    pub fn put(&self, key: &str, agent: Option<ObservedAgent>) {
        self.store(key, agent, true);
    }

    fn store(&self, key: &str, agent: Option<ObservedAgent>, written: bool) {
        self.lock().agents.insert(
            key.to_string(),
            Entry {
                agent,
                read_at: Instant::now(),
                written,
                listed: 0,
            },
        );
    }

    /// Records that the vendor answered a read made with this runtime's credentials outside the
    /// snapshot (a credential check), so [`Snapshot::answered_within`] counts it too.
    pub fn note_answer(&self) {
        self.lock().answered_at = Some(Instant::now());
    }

    /// Whether the vendor answered a read made through the snapshot (a listing, or a single account)
    /// or noted by [`Snapshot::note_answer`] within `within`. Such an answer proves the provider's
    /// credentials as well as a dedicated check.
    pub fn answered_within(&self, within: Duration) -> bool {
        self.lock().answered_at.is_some_and(|t| t.elapsed() < within)
    }

    /// Whether the full listing has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.lock().loaded
    }

    /// Accounts currently known to exist.
    pub fn len(&self) -> usize {
        self.lock().agents.values().filter(|e| e.agent.is_some()).count()
    }

    /// Whether no account is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every account currently known to exist.
    pub fn accounts(&self) -> Vec<ObservedAgent> {
        let mut all: Vec<ObservedAgent> = self
            .lock()
            .agents
            .values()
            .filter_map(|e| e.agent.clone())
            .collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }

    async fn ensure_loaded(&self, vendor: &dyn Vendor) -> Result<(), VendorError> {
        if self.is_loaded() {
            return Ok(());
        }
        let one_listing = self.listing.lock().await;
        if self.is_loaded() {
            return Ok(());
        }
        self.list(vendor, one_listing).await.map(|_| ())
    }

    /// Lists the vendor (incrementally when it can and a full listing is not due) and returns the keys
    /// of accounts that changed, appeared or disappeared since the last look. Vendors that cannot list
    /// return the keys whose cached reads have expired, so their agents get a periodic look.
    pub async fn refresh(&self, vendor: &dyn Vendor) -> Result<Vec<String>, VendorError> {
        let one_listing = self.listing.lock().await;
        self.list(vendor, one_listing).await
    }

    async fn list(
        &self,
        vendor: &dyn Vendor,
        _one_listing: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<Vec<String>, VendorError> {
        let (page_size, incremental) = match vendor.listing() {
            Listing::Paged {
                page_size,
                incremental,
            } => (page_size.max(1), incremental),
            Listing::Unsupported => return Ok(self.expired_keys()),
        };
        let (since, full) = {
            let s = self.lock();
            let full = !s.loaded || !incremental || s.refreshes.is_multiple_of(FULL_LISTING_EVERY);
            let since = s.watermark.filter(|_| !full).map(|w| w - WATERMARK_OVERLAP_SECS);
            (since, full)
        };
        let mut merge = self.begin(full, Instant::now());
        let mut guard = PageGuard::new("the vendor's accounts", page_size);
        let mut page = 0u32;
        loop {
            let result = vendor.list_page(page, since).await?;
            if result.agents.is_empty() {
                break;
            }
            // The vendor's total is a hint, not a bound: the guard ends a listing whose pages repeat
            // or never end, before they use up memory.
            guard.record(result.agents.iter().map(|a| a.key.as_str()))?;
            self.absorb(&mut merge, result.agents);
            page = page.saturating_add(1);
            // No stop on a short page: a vendor may serve fewer than asked per page (Huawei
            // documents no maximum), and a listing that ended early would make accounts look deleted.
            if u64::from(page) * u64::from(page_size) >= result.total {
                break;
            }
        }
        Ok(self.finish(merge))
    }

    /// Starts merging a listing that began at `started`.
    fn begin(&self, full: bool, started: Instant) -> Merge {
        let mut s = self.lock();
        s.listings += 1;
        Merge {
            number: s.listings,
            started,
            full,
            changed: Vec::new(),
            changed_keys: HashSet::new(),
            newest: None,
        }
    }

    /// Takes in one page. An account the snapshot already holds as listed is brought up to date in
    /// place, so a relisting of N unchanged accounts never holds a second copy of them; an account
    /// that is new or changed waits in `merge` for the end of the listing, so a listing cut short
    /// reports nothing and removes nothing.
    ///
    /// Entries recorded after the listing began (the operator's writes, or reads, while the pages came
    /// in) are newer than the listing's view of them and are left alone.
    fn absorb(&self, merge: &mut Merge, page: Vec<ObservedAgent>) {
        let mut s = self.lock();
        let now = Instant::now();
        for agent in page {
            if let Some(m) = agent.modified_at {
                merge.newest = Some(merge.newest.map_or(m, |w| w.max(m)));
            }
            if merge.changed_keys.contains(&agent.key) {
                continue;
            }
            match s.agents.get_mut(&agent.key) {
                Some(e) if e.listed == merge.number || e.read_at > merge.started => {
                    e.listed = merge.number;
                }
                Some(e) if !e.differs_from(&agent) => {
                    *e = Entry {
                        agent: Some(agent),
                        read_at: now,
                        written: false,
                        listed: merge.number,
                    };
                }
                _ => {
                    merge.changed_keys.insert(agent.key.clone());
                    merge.changed.push(agent);
                }
            }
        }
    }

    /// Ends a listing that read every page: stores the accounts that are new or changed, and, after a
    /// full listing, marks those it did not show as gone. Returns their keys, except on the first
    /// load (nothing the snapshot held before can have changed).
    fn finish(&self, merge: Merge) -> Vec<String> {
        let mut s = self.lock();
        let now = Instant::now();
        let was_loaded = s.loaded;
        let mut changed = Vec::new();
        for agent in merge.changed {
            if s.agents
                .get(&agent.key)
                .is_some_and(|e| e.read_at > merge.started)
            {
                continue;
            }
            if was_loaded {
                changed.push(agent.key.clone());
            }
            let key = agent.key.clone();
            let entry = Entry {
                agent: Some(agent),
                read_at: now,
                written: false,
                listed: merge.number,
            };
            s.agents.insert(key, entry);
        }
        if merge.full {
            for (key, entry) in s.agents.iter_mut() {
                let unseen = entry.listed != merge.number && entry.read_at <= merge.started;
                if unseen && entry.agent.is_some() {
                    entry.agent = None;
                    entry.read_at = now;
                    entry.written = false;
                    if was_loaded {
                        changed.push(key.clone());
                    }
                }
            }
        }
        if let Some(newest) = merge.newest {
            s.watermark = Some(s.watermark.map_or(newest, |w| w.max(newest)));
        }
        s.loaded = true;
        s.refreshes += 1;
        s.answered_at = Some(now);
        changed.sort();
        changed.dedup();
        changed
    }

    fn expired_keys(&self) -> Vec<String> {
        let s = self.lock();
        let mut keys: Vec<String> = s
            .agents
            .iter()
            .filter(|(_, e)| e.read_at.elapsed() >= self.ttl)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Field, FieldValue};

    impl Snapshot {
        /// A listing of one page, merged.
        fn merge(&self, listed: Vec<ObservedAgent>, full: bool, started: Instant) -> Vec<String> {
            let mut merge = self.begin(full, started);
            self.absorb(&mut merge, listed);
            self.finish(merge)
        }
    }

    fn agent(key: &str, name: &str, modified: i64) -> ObservedAgent {
        let mut a = ObservedAgent {
            key: key.into(),
            modified_at: Some(modified),
            ..Default::default()
        };
        a.fields.insert(Field::DisplayName, FieldValue::Text(name.into()));
        a
    }

    /// The display names of the snapshot's accounts, in its order.
    fn display_names(s: &Snapshot) -> Vec<FieldValue> {
        s.accounts()
            .into_iter()
            .map(|a| a.fields[&Field::DisplayName].clone())
            .collect()
    }

    #[test]
    fn merge_reports_changed_new_and_vanished_accounts_only_after_the_first_load() {
        let s = Snapshot::new(Duration::from_secs(60));
        assert!(
            s.merge(vec![agent("a", "A", 1), agent("b", "B", 1)], true, Instant::now())
                .is_empty(),
            "first load is not drift"
        );
        assert_eq!(
            s.merge(
                vec![agent("a", "A", 5), agent("c", "C", 5)],
                false,
                Instant::now()
            ),
            ["c"],
            "unchanged a is not reported"
        );
        assert_eq!(
            s.merge(
                vec![agent("a", "A2", 6), agent("c", "C", 6)],
                true,
                Instant::now()
            ),
            ["a", "b"],
            "a changed, b vanished"
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s.lock().watermark, Some(6));
    }

    #[test]
    fn a_listing_cut_short_reports_nothing_and_removes_nothing() {
        let s = Snapshot::new(Duration::from_secs(60));
        s.merge(vec![agent("a", "A", 1), agent("b", "B", 1)], true, Instant::now());
        // A full listing whose first page shows a changed and a new account, then fails.
        let mut cut_short = s.begin(true, Instant::now());
        s.absorb(&mut cut_short, vec![agent("a", "A2", 2), agent("c", "C", 2)]);
        drop(cut_short);
        let names = display_names(&s);
        assert_eq!(
            names,
            [FieldValue::Text("A".into()), FieldValue::Text("B".into())],
            "neither stored nor removed"
        );
        assert_eq!(s.lock().watermark, Some(1));
        // The next listing still finds both changes, and b gone.
        assert_eq!(
            s.merge(
                vec![agent("a", "A2", 2), agent("c", "C", 2)],
                true,
                Instant::now()
            ),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn a_relisting_of_unchanged_accounts_updates_them_in_place_and_keeps_them() {
        let s = Snapshot::new(Duration::from_secs(60));
        s.merge(vec![agent("a", "A", 1), agent("b", "B", 1)], true, Instant::now());
        let mut relisting = s.begin(true, Instant::now());
        s.absorb(&mut relisting, vec![agent("a", "A", 1)]);
        s.absorb(&mut relisting, vec![agent("b", "B", 1), agent("a", "A", 1)]);
        assert!(relisting.changed.is_empty(), "nothing held beside the snapshot");
        assert!(
            s.finish(relisting).is_empty(),
            "an account on two pages is seen, not changed"
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn our_write_read_back_with_unmanaged_fields_is_not_drift() {
        let s = Snapshot::new(Duration::from_secs(60));
        s.merge(Vec::new(), true, Instant::now());
        let mut written = agent("a", "A", 1);
        written.external_id = Some("a".into());
        s.put("a", Some(written));
        let mut listed = agent("a", "A", 2);
        listed.fields.insert(
            crate::connectors::tencent::model::ROLE,
            FieldValue::Text("3".into()),
        );
        assert!(
            s.merge(vec![listed.clone()], false, Instant::now()).is_empty(),
            "more fields and the vendor's form of the id are not a change"
        );
        // From now on the entry is the vendor's view: the same listing again is no change either,
        // and a console edit is.
        assert!(s.merge(vec![listed.clone()], false, Instant::now()).is_empty());
        listed
            .fields
            .insert(Field::DisplayName, FieldValue::Text("Console".into()));
        assert_eq!(s.merge(vec![listed], false, Instant::now()), ["a"]);
        s.put("b", Some(agent("b", "B", 3)));
        assert_eq!(
            s.merge(vec![agent("b", "B2", 4)], false, Instant::now()),
            ["b"],
            "a field our write set that reads back otherwise is a change"
        );
    }

    #[test]
    fn a_listing_that_began_before_our_write_neither_overwrites_nor_deletes_it() {
        let s = Snapshot::new(Duration::from_secs(60));
        s.merge(vec![agent("a", "A", 1)], true, Instant::now());
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        s.put("a", Some(agent("a", "A2", 2)));
        s.put("new", Some(agent("new", "N", 2)));
        // The pages were read before the writes: "a" still old, "new" missing.
        assert!(s.merge(vec![agent("a", "A", 1)], true, started).is_empty());
        assert_eq!(s.len(), 2, "the account created meanwhile is still there");
        let names = display_names(&s);
        assert_eq!(
            names[0],
            FieldValue::Text("A2".into()),
            "our write is not overwritten"
        );
    }

    /// A vendor whose listing misbehaves: every page is `page(n)`, and the total is astronomical.
    struct Endless {
        page_size: u32,
        page: fn(u32) -> Vec<ObservedAgent>,
        calls: std::sync::atomic::AtomicU32,
    }

    #[async_trait::async_trait]
    impl Vendor for Endless {
        fn kind(&self) -> crate::core::VendorKind {
            crate::core::VendorKind::Tencent
        }
        fn account(&self) -> &crate::connectors::AccountId {
            static ACCOUNT: std::sync::LazyLock<crate::connectors::AccountId> =
                std::sync::LazyLock::new(|| crate::connectors::AccountId::from_recorded("tencent endless"));
            &ACCOUNT
        }
        fn listing(&self) -> Listing {
            Listing::Paged {
                page_size: self.page_size,
                incremental: false,
            }
        }
        async fn list_page(
            &self,
            page: u32,
            _: Option<i64>,
        ) -> Result<crate::connectors::AgentPage, VendorError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(crate::connectors::AgentPage {
                agents: (self.page)(page),
                total: u64::MAX,
            })
        }
        async fn get(&self, _: &str) -> Result<Option<ObservedAgent>, VendorError> {
            unreachable!("a listing vendor is read through its listing")
        }
        async fn create(
            &self,
            _: &crate::core::DesiredAgent,
            _: Option<&crate::connectors::AgentPassword>,
        ) -> Result<crate::connectors::Created, VendorError> {
            unreachable!()
        }
        async fn update(
            &self,
            _: &crate::core::DesiredAgent,
            _: &ObservedAgent,
            _: &[crate::core::FieldChange],
            _: Option<&crate::connectors::AgentPassword>,
        ) -> Result<(), VendorError> {
            unreachable!()
        }
        async fn delete(&self, _: &str) -> Result<crate::connectors::Deletion, VendorError> {
            unreachable!()
        }
        async fn skill_ids(&self) -> Result<Option<std::collections::BTreeMap<String, String>>, VendorError> {
            Ok(None)
        }
        async fn check_credentials(&self) -> Result<(), VendorError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_vendor_repeating_a_full_page_is_cut_short_after_two_pages() {
        let vendor = Endless {
            page_size: 2,
            page: |_| vec![agent("a", "A", 1), agent("b", "B", 1)],
            calls: Default::default(),
        };
        let s = Snapshot::new(Duration::from_secs(60));
        let e = s.refresh(&vendor).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some(crate::connectors::paging::CUT_SHORT));
        assert!(
            e.message.contains("cut short") && e.message.contains("repeats"),
            "{e}"
        );
        assert_eq!(vendor.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(!s.is_loaded(), "a partial listing is never used");
        assert!(s.is_empty());
    }

    #[tokio::test]
    async fn a_listing_that_never_ends_stops_at_the_page_cap() {
        // Huge pages, so the cap is a few pages: each page holds one new account.
        let vendor = Endless {
            page_size: 500_000,
            page: |n| vec![agent(&format!("agent-{n}"), "A", 1)],
            calls: Default::default(),
        };
        let s = Snapshot::new(Duration::from_secs(60));
        let e = s.refresh(&vendor).await.unwrap_err();
        let max = PageGuard::new("", 500_000).max_pages();
        assert!(e.message.contains(&format!("reached {max} pages")), "{e}");
        assert_eq!(
            u64::from(vendor.calls.load(std::sync::atomic::Ordering::SeqCst)),
            max
        );
        assert!(!s.is_loaded());
    }

    #[tokio::test]
    async fn an_empty_page_ends_the_listing_whatever_the_total() {
        let vendor = Endless {
            page_size: 2,
            page: |n| match n {
                0 => vec![agent("a", "A", 1), agent("b", "B", 1)],
                _ => Vec::new(),
            },
            calls: Default::default(),
        };
        let s = Snapshot::new(Duration::from_secs(60));
        s.refresh(&vendor).await.unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(vendor.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_listing_is_the_vendor_answering() {
        let s = Snapshot::new(Duration::from_secs(60));
        assert!(!s.answered_within(Duration::from_secs(60)), "nothing read yet");
        s.put("a", Some(agent("a", "A", 1)));
        assert!(
            !s.answered_within(Duration::from_secs(60)),
            "our own write is no answer"
        );
        s.merge(vec![agent("a", "A", 1)], true, Instant::now());
        assert!(s.answered_within(Duration::from_secs(60)));
        assert!(!s.answered_within(Duration::ZERO));
    }

    #[test]
    fn a_passed_credential_check_is_the_vendor_answering() {
        let s = Snapshot::new(Duration::from_secs(60));
        assert!(!s.answered_within(Duration::from_secs(60)));
        s.note_answer();
        assert!(s.answered_within(Duration::from_secs(60)));
        assert!(
            !s.answered_within(Duration::ZERO),
            "an answer counts only within its window"
        );
    }
}
