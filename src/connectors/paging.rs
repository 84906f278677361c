//! Listings that end: every paged read (the agent snapshot, Tencent's and Huawei's skill tables) asks
//! a [`PageGuard`] after each page whether to go on.
//!
//! A listing ends on an empty or a short page, or once it has as many items as the vendor's total. A
//! misbehaving vendor (or a proxy answering every page with the same body) can keep sending full pages
//! with a `TotalCount` of billions, and a loop that trusts it grows memory until the pod is killed. The
//! guard stops such a listing with an error that says it was cut short and why; a partial listing is
//! never used, because an account missing from it would look deleted at the vendor.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::{ErrorKind, VendorError};

/// The most items any listing may hold. Huawei numbers accounts (`workNo`) from 101 to 999999, the
/// largest account space any of the vendors documents (Tencent and Ozonetel document none), so no
/// real tenant lists more than about a million accounts, and no skill table comes near it.
pub const MAX_LISTED_ITEMS: u64 = 1_000_000;

/// Pages allowed beyond `MAX_LISTED_ITEMS / page size`: room for accounts created while paging, which
/// shift later accounts onto a page more.
const MARGIN_PAGES: u64 = 10;

/// The error code of a listing the guard stopped.
pub const CUT_SHORT: &str = "ListingCutShort";

/// Counts the pages and items of one listing and recognises a page that repeats the previous one.
#[derive(Debug)]
pub struct PageGuard {
    what: &'static str,
    max_pages: u64,
    pages: u64,
    items: u64,
    previous: Option<u64>,
}

impl PageGuard {
    /// A guard for a listing of `what` (for the error message) in pages of `page_size`.
    pub fn new(what: &'static str, page_size: u32) -> Self {
        PageGuard {
            what,
            max_pages: MAX_LISTED_ITEMS.div_ceil(u64::from(page_size.max(1))) + MARGIN_PAGES,
            pages: 0,
            items: 0,
            previous: None,
        }
    }

    /// The most pages this listing may take.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// Records a non-empty page by the keys on it, in order. An error when the page is the previous
    /// page again (the vendor ignores the page number) or when the listing has reached the page or
    /// item cap.
    pub fn record<K: Hash>(&mut self, keys: impl IntoIterator<Item = K>) -> Result<(), VendorError> {
        let mut hasher = DefaultHasher::new();
        let mut count = 0u64;
        for key in keys {
            key.hash(&mut hasher);
            count += 1;
        }
        let fingerprint = hasher.finish();
        self.pages += 1;
        self.items = self.items.saturating_add(count);
        if count > 0 && self.previous == Some(fingerprint) {
            return Err(self.cut_short(format!(
                "page {} repeats page {} (the vendor seems to ignore the page number)",
                self.pages - 1,
                self.pages - 2
            )));
        }
        self.previous = Some(fingerprint);
        if self.items > MAX_LISTED_ITEMS {
            return Err(self.cut_short(format!(
                "it passed {MAX_LISTED_ITEMS} items, more than any vendor documents"
            )));
        }
        if self.pages >= self.max_pages {
            return Err(self.cut_short(format!(
                "it reached {} pages, more than {MAX_LISTED_ITEMS} items need",
                self.max_pages
            )));
        }
        Ok(())
    }

    fn cut_short(&self, why: String) -> VendorError {
        // Not retried in place (the same answers would come back), but not terminal either: the
        // controller requeues with backoff, and the listing starts over when the vendor behaves.
        VendorError::new(
            ErrorKind::Transient,
            format!(
                "listing {} cut short after {} pages and {} items: {why}",
                self.what, self.pages, self.items
            ),
        )
        .with_code(CUT_SHORT)
        .retryable(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_pages_pass_until_the_cap() {
        let mut guard = PageGuard::new("things", 250_000);
        assert_eq!(guard.max_pages(), 4 + MARGIN_PAGES);
        for page in 0..guard.max_pages() - 1 {
            guard.record([page]).unwrap();
        }
        let e = guard.record(["last"]).unwrap_err();
        assert_eq!(e.code.as_deref(), Some(CUT_SHORT));
        assert!(!e.retryable);
        assert!(
            e.message.contains("listing things cut short after 14 pages"),
            "{e}"
        );
    }

    #[test]
    fn a_repeated_page_stops_at_once() {
        let mut guard = PageGuard::new("accounts", 2);
        guard.record(["a", "b"]).unwrap();
        guard.record(["c", "d"]).unwrap();
        let e = guard.record(["c", "d"]).unwrap_err();
        assert!(e.message.contains("page 2 repeats page 1"), "{e}");
    }

    #[test]
    fn oversized_pages_hit_the_item_cap() {
        let mut guard = PageGuard::new("accounts", 1000);
        guard.record(0..MAX_LISTED_ITEMS).unwrap();
        let e = guard.record([u64::MAX]).unwrap_err();
        assert!(e.message.contains("passed 1000000 items"), "{e}");
    }

    #[test]
    fn a_zero_page_size_is_one() {
        assert_eq!(
            PageGuard::new("x", 0).max_pages(),
            MAX_LISTED_ITEMS + MARGIN_PAGES
        );
    }
}
