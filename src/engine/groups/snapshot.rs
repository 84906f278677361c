//! One listing of a provider's skill groups serves every group of that provider: read page by page
//! when older than its time to live (or when a pass asks for a fresh look), then kept current by the
//! passes' own writes. Concurrent passes that find it stale wait for one listing, so a hundred groups
//! reconciling at once cost one listing, not a hundred.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::connectors::paging::PageGuard;
use crate::connectors::{Vendor, VendorError};
use crate::core::ObservedGroup;

struct Listed {
    groups: Arc<Vec<ObservedGroup>>,
    at: Instant,
}

/// A provider's skill groups as last listed.
pub struct GroupSnapshot {
    ttl: Duration,
    listed: Mutex<Option<Listed>>,
}

impl GroupSnapshot {
    /// A snapshot whose listing is read again once older than `ttl`.
    pub fn new(ttl: Duration) -> Self {
        GroupSnapshot {
            ttl,
            listed: Mutex::new(None),
        }
    }

    /// Every group, listed again when the listing is older than the time to live or `fresh` is set.
    /// `None` when the vendor cannot list groups.
    pub async fn groups(
        &self,
        vendor: &dyn Vendor,
        fresh: bool,
    ) -> Result<Option<Arc<Vec<ObservedGroup>>>, VendorError> {
        let Some(page_size) = vendor.group_support().list_page_size else {
            return Ok(None);
        };
        let mut listed = self.listed.lock().await;
        if !fresh
            && let Some(l) = listed.as_ref()
            && l.at.elapsed() < self.ttl
        {
            return Ok(Some(l.groups.clone()));
        }
        let groups = Arc::new(list_all(vendor, page_size).await?);
        *listed = Some(Listed {
            groups: groups.clone(),
            at: Instant::now(),
        });
        Ok(Some(groups))
    }

    /// Records a group as this process just wrote it (or, with `None`, that group `id` is gone), so
    /// the next pass reads it without a listing.
    pub async fn put(&self, id: &str, group: Option<ObservedGroup>) {
        let mut listed = self.listed.lock().await;
        let Some(l) = listed.as_mut() else {
            return;
        };
        let mut groups: Vec<ObservedGroup> = l.groups.iter().filter(|g| g.id != id).cloned().collect();
        groups.extend(group);
        l.groups = Arc::new(groups);
    }

    /// Forgets the listing: the next pass lists again (a create met a group this process did not know).
    pub async fn forget(&self) {
        *self.listed.lock().await = None;
    }
}

/// Every page, ending on a short or empty page or at the total, and refusing a listing whose pages
/// repeat (a broken gateway) rather than looping.
async fn list_all(vendor: &dyn Vendor, page_size: u32) -> Result<Vec<ObservedGroup>, VendorError> {
    let mut all = Vec::new();
    let mut guard = PageGuard::new("skill groups", page_size);
    let mut page = 0;
    loop {
        let got = vendor.list_groups(page).await?;
        let count = got.groups.len();
        if count == 0 {
            return Ok(all);
        }
        guard.record(got.groups.iter().map(|g| g.id.clone()))?;
        all.extend(got.groups);
        if count < page_size as usize || all.len() as u64 >= got.total {
            return Ok(all);
        }
        page += 1;
    }
}
