//! Everything the engine keeps per provider: the vendor client, the snapshot, the skill table, and the
//! deletion budget.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::snapshot::Snapshot;
use crate::api::{AgentPolicy, ProviderSettings};
use crate::connectors::ratelimit::{self, TokenBucket};
use crate::connectors::{ClientOptions, SecretData, Vendor, VendorError};
use crate::core::{NamesAreIds, SkillResolver};

/// Skill tables are re-read at most this often (and when a spec names an unknown skill).
const SKILL_TABLE_TTL: Duration = Duration::from_secs(300);

/// Default cap on vendor deletions per provider per minute.
pub const DEFAULT_DELETIONS_PER_MINUTE: u32 = 10;

/// A skill table and when it was read.
type CachedSkills = (Instant, Arc<BTreeMap<String, String>>);

/// One provider's vendor client and what the engine knows about its accounts.
pub struct ProviderRuntime {
    /// `namespace/name` for a namespaced provider, `name` for a cluster provider.
    pub id: String,
    /// The vendor client.
    pub vendor: Arc<dyn Vendor>,
    /// The accounts, as last seen.
    pub snapshot: Snapshot,
    /// The drift-detection period.
    pub resync: Duration,
    /// The most its agents may do (a cluster provider's `agentPolicy`; unrestricted for a namespaced
    /// provider, whose namespace owns its agents).
    pub policy: AgentPolicy,
    /// The skill groups, as last listed: one listing serves every group of the provider.
    pub groups: super::groups::GroupSnapshot,
    deletions: Arc<TokenBucket>,
    ledger: tokio::sync::Mutex<Vec<String>>,
    skills: Mutex<Option<CachedSkills>>,
}

impl ProviderRuntime {
    /// Connects to the provider's vendor.
    pub fn connect(
        id: &str,
        settings: &ProviderSettings,
        secret_name: &str,
        credentials: &SecretData,
        options: &ClientOptions,
    ) -> Result<Self, VendorError> {
        let vendor = crate::connectors::connect(settings, secret_name, credentials, options)?;
        let per_minute = settings
            .rate_limit
            .as_ref()
            .and_then(|r| r.deletions_per_minute)
            .unwrap_or(DEFAULT_DELETIONS_PER_MINUTE);
        Ok(Self::with_vendor(
            id,
            vendor,
            settings.resync_interval(),
            per_minute,
        ))
    }

    /// A runtime around an existing client.
    pub fn with_vendor(
        id: &str,
        vendor: Arc<dyn Vendor>,
        resync: Duration,
        deletions_per_minute: u32,
    ) -> Self {
        let deletions = ratelimit::shared(
            &format!("{}/deletions", vendor.account()),
            deletions_per_minute,
            deletions_per_minute,
        );
        ProviderRuntime {
            id: id.to_string(),
            vendor,
            // Single-account reads expire a little before the interval, because each agent's periodic
            // look comes after a jittered interval (0.9 to 1.1 of it): an expiry of exactly one interval
            // lets an early look find its last read still fresh, so that account goes unread until
            // the look after (measured with Ozonetel: 320 to 400 reads of 500 agents per interval, and
            // a console edit found after up to two intervals).
            snapshot: Snapshot::new(resync.mul_f64(0.8)),
            resync,
            policy: AgentPolicy::unrestricted(),
            groups: super::groups::GroupSnapshot::new(resync.mul_f64(0.8)),
            // The bucket is process-wide per vendor account, so neither rebuilding the client on a
            // credential rotation nor a second provider object of the same account hands out a fresh
            // deletion budget.
            deletions,
            ledger: Default::default(),
            skills: Mutex::new(None),
        }
    }

    /// Takes one deletion from the provider's budget, if one is left.
    pub fn try_take_deletion(&self) -> bool {
        let taken = self.deletions.try_acquire();
        if !taken {
            crate::metrics::deletion_deferred(&self.id, self.vendor.account().as_str());
        }
        taken
    }

    /// Takes over the deletions made in the last minute before this runtime existed (the provider's
    /// `status.recentDeletions`): they count against the budget, so a restart never hands out a fresh
    /// one, and they stay in the ledger.
    pub fn deletions_already_made(&mut self, recent: Vec<String>) {
        self.deletions.spent_at_least(recent.len());
        *self.ledger.get_mut() = recent;
    }

    /// The provider's deletion ledger (`status.recentDeletions`), held while it is extended and
    /// written, so concurrent deletions append to one list instead of overwriting each other's.
    pub fn deletion_ledger(&self) -> &tokio::sync::Mutex<Vec<String>> {
        &self.ledger
    }

    /// Seconds until the deletion budget refills by one.
    pub fn deletion_interval(&self) -> Duration {
        Duration::from_secs_f64(60.0 / f64::from(self.deletions.per_minute()))
    }

    /// The skill resolver for this vendor: the vendor's name → id table (cached, re-read when `refresh`
    /// or older than a few minutes), or names as ids for vendors without skill ids.
    pub async fn skills(&self, refresh: bool) -> Result<Box<dyn SkillResolver + Send + Sync>, VendorError> {
        if !refresh
            && let Some((at, table)) = self.skills.lock().expect("skills lock").as_ref()
            && at.elapsed() < SKILL_TABLE_TTL
        {
            return Ok(Box::new(SharedTable(table.clone())));
        }
        match self.vendor.skill_ids().await? {
            None => Ok(Box::new(NamesAreIds)),
            Some(table) => {
                let table = Arc::new(table);
                *self.skills.lock().expect("skills lock") = Some((Instant::now(), table.clone()));
                Ok(Box::new(SharedTable(table)))
            }
        }
    }
}

impl ProviderRuntime {
    /// Vendor skill id → name, from the skill table this runtime last read (empty when it read none):
    /// how a plan shows skills by the names the spec uses, without another vendor call.
    pub fn skill_names(&self) -> BTreeMap<String, String> {
        let cached = self.skills.lock().expect("skills lock");
        cached
            .as_ref()
            .map(|(_, table)| {
                table
                    .iter()
                    .map(|(name, id)| (id.clone(), name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct SharedTable(Arc<BTreeMap<String, String>>);

impl SkillResolver for SharedTable {
    fn resolve(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
