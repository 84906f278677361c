//! Prometheus metrics of the operator, served on `/metrics`.
//!
//! Labels are bounded sets (vendor, action, outcome, result, condition, provider); agent names never
//! become labels, so the series count does not grow with the roster.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of reconcile results.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// `agent` or `provider`.
    pub kind: &'static str,
    /// `ok`, or the error category.
    pub result: String,
}

/// Labels of vendor requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VendorLabels {
    /// `tencent`, `huawei`, `ozonetel`.
    pub vendor: &'static str,
    /// The vendor action, e.g. `CreateStaff`.
    pub action: &'static str,
    /// `ok` or the error kind.
    pub outcome: &'static str,
}

/// Labels of vendor latency and limiter waits.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VendorActionLabels {
    /// The vendor.
    pub vendor: &'static str,
    /// The vendor action or API class.
    pub action: &'static str,
}

/// Labels of the agent gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AgentLabels {
    /// The provider, `namespace/name` or `name` for cluster providers.
    pub provider: String,
    /// `ready`, `not_ready`, `stalled`.
    pub condition: &'static str,
}

/// Labels of the provider readiness gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// The provider, `namespace/name` or `name` for cluster providers.
    pub provider: String,
    /// The reason of its `Ready` condition, e.g. `Available` or `CredentialsInvalid`.
    pub reason: &'static str,
}

/// Labels of vendor deletions: the provider that asked, and the vendor account whose deletion budget
/// it spent (providers of one account share one budget).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeletionLabels {
    /// The provider, `namespace/name` or `name` for cluster providers.
    pub provider: String,
    /// The vendor account (vendor, endpoint, account ids; never a secret).
    pub account: String,
}

/// Labels of the skill-group gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkillGroupLabels {
    /// The provider, `namespace/name` or `name` for cluster providers.
    pub provider: String,
    /// `true` for Ready groups, `false` for the others.
    pub ready: &'static str,
}

/// Labels of skill-group operations at the vendor.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkillGroupOperationLabels {
    /// `tencent`, `huawei`, `ozonetel`.
    pub vendor: &'static str,
    /// `create`, `adopt`, `update`, `delete`, `list`.
    pub operation: &'static str,
    /// `ok`, or the error kind.
    pub result: &'static str,
}

/// Every metric of the operator.
pub struct Metrics {
    registry: Registry,
    /// Reconciles by kind and result.
    pub reconciles: Family<ReconcileLabels, Counter>,
    /// Reconcile duration.
    pub reconcile_duration: Family<ReconcileLabels, Histogram>,
    /// Vendor requests by vendor, action and outcome.
    pub vendor_requests: Family<VendorLabels, Counter>,
    /// Vendor request latency.
    pub vendor_latency: Family<VendorActionLabels, Histogram>,
    /// Time spent waiting for the client-side rate limiter.
    pub rate_limiter_wait: Family<VendorActionLabels, Histogram>,
    /// Agents by provider and condition.
    pub agents: Family<AgentLabels, Gauge>,
    /// 1 for a Ready provider, 0 otherwise, labelled with the Ready reason.
    pub provider_ready: Family<ProviderLabels, Gauge>,
    /// The reason each provider's readiness series carries now, so a change of reason replaces the
    /// series instead of leaving the old one behind with a stale value.
    provider_reasons: Mutex<HashMap<String, &'static str>>,
    /// Vendor accounts deleted.
    pub deletions: Family<DeletionLabels, Counter>,
    /// Deletions held back because the deletion cap (`rateLimit.deletionsPerMinute`) was reached.
    pub deletions_deferred: Family<DeletionLabels, Counter>,
    /// Skill groups by provider and readiness.
    pub skill_groups: Family<SkillGroupLabels, Gauge>,
    /// Skill-group operations at the vendor by vendor, operation and result.
    pub skill_group_operations: Family<SkillGroupOperationLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The process-wide metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("ccop");
    let reconciles = Family::<ReconcileLabels, Counter>::default();
    let reconcile_duration =
        Family::<ReconcileLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    let vendor_requests = Family::<VendorLabels, Counter>::default();
    let vendor_latency =
        Family::<VendorActionLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    let rate_limiter_wait =
        Family::<VendorActionLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    let agents = Family::<AgentLabels, Gauge>::default();
    let provider_ready = Family::<ProviderLabels, Gauge>::default();
    let deletions = Family::<DeletionLabels, Counter>::default();
    let deletions_deferred = Family::<DeletionLabels, Counter>::default();
    let skill_groups = Family::<SkillGroupLabels, Gauge>::default();
    let skill_group_operations = Family::<SkillGroupOperationLabels, Counter>::default();
    registry.register("reconciles", "Reconciles by kind and result", reconciles.clone());
    registry.register(
        "reconcile_duration_seconds",
        "Reconcile duration",
        reconcile_duration.clone(),
    );
    registry.register(
        "vendor_requests",
        "Vendor requests by vendor, action and outcome",
        vendor_requests.clone(),
    );
    registry.register(
        "vendor_request_duration_seconds",
        "Vendor request latency",
        vendor_latency.clone(),
    );
    registry.register(
        "rate_limiter_wait_seconds",
        "Time spent waiting for the client-side rate limiter",
        rate_limiter_wait.clone(),
    );
    registry.register("agents", "Agents by provider and condition", agents.clone());
    registry.register(
        "provider_ready",
        "1 for a Ready provider, 0 otherwise, by provider and Ready reason",
        provider_ready.clone(),
    );
    registry.register(
        "deletions",
        "Vendor accounts deleted, by provider and account",
        deletions.clone(),
    );
    registry.register(
        "deletions_deferred",
        "Deletions held back by the per-account deletion cap, by provider and account",
        deletions_deferred.clone(),
    );
    registry.register(
        "skill_groups",
        "Skill groups by provider and readiness",
        skill_groups.clone(),
    );
    registry.register(
        "skill_group_operations",
        "Skill-group operations at the vendor, by vendor, operation and result",
        skill_group_operations.clone(),
    );
    Metrics {
        registry,
        reconciles,
        reconcile_duration,
        vendor_requests,
        vendor_latency,
        rate_limiter_wait,
        agents,
        provider_ready,
        provider_reasons: Mutex::default(),
        deletions,
        deletions_deferred,
        skill_groups,
        skill_group_operations,
    }
});

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding to a String cannot fail");
        out
    }
}

/// Records one vendor request.
pub fn vendor_request(vendor: &'static str, action: &'static str, outcome: &'static str, elapsed: Duration) {
    METRICS
        .vendor_requests
        .get_or_create(&VendorLabels {
            vendor,
            action,
            outcome,
        })
        .inc();
    METRICS
        .vendor_latency
        .get_or_create(&VendorActionLabels { vendor, action })
        .observe(elapsed.as_secs_f64());
}

/// Records a wait for the client-side rate limiter.
pub fn rate_limiter_wait(vendor: &'static str, action: &'static str, waited: Duration) {
    METRICS
        .rate_limiter_wait
        .get_or_create(&VendorActionLabels { vendor, action })
        .observe(waited.as_secs_f64());
}

/// Records whether a provider is Ready, and why.
pub fn provider_ready(provider: &str, ready: bool, reason: &'static str) {
    let mut reasons = METRICS.provider_reasons.lock().expect("provider reasons lock");
    if let Some(previous) = reasons.insert(provider.to_string(), reason)
        && previous != reason
    {
        METRICS.provider_ready.remove(&ProviderLabels {
            provider: provider.to_string(),
            reason: previous,
        });
    }
    METRICS
        .provider_ready
        .get_or_create(&ProviderLabels {
            provider: provider.to_string(),
            reason,
        })
        .set(i64::from(ready));
}

/// Drops a deleted provider's readiness series, so it does not alert after it is gone.
pub fn forget_provider(provider: &str) {
    let mut reasons = METRICS.provider_reasons.lock().expect("provider reasons lock");
    if let Some(reason) = reasons.remove(provider) {
        METRICS.provider_ready.remove(&ProviderLabels {
            provider: provider.to_string(),
            reason,
        });
    }
}

/// Records a vendor account deleted by `provider` in `account`.
pub fn deletion_made(provider: &str, account: &str) {
    METRICS
        .deletions
        .get_or_create(&DeletionLabels {
            provider: provider.to_string(),
            account: account.to_string(),
        })
        .inc();
}

/// Records a deletion that waits because `account`'s deletion cap is reached.
pub fn deletion_deferred(provider: &str, account: &str) {
    METRICS
        .deletions_deferred
        .get_or_create(&DeletionLabels {
            provider: provider.to_string(),
            account: account.to_string(),
        })
        .inc();
}

/// Sets how many of `provider`'s skill groups are Ready (`ready`) or not.
pub fn skill_groups(provider: &str, ready: bool, count: u32) {
    METRICS
        .skill_groups
        .get_or_create(&SkillGroupLabels {
            provider: provider.to_string(),
            ready: if ready { "true" } else { "false" },
        })
        .set(i64::from(count));
}

/// Records one skill-group operation at the vendor.
pub fn skill_group_operation(vendor: &'static str, operation: &'static str, result: &'static str) {
    METRICS
        .skill_group_operations
        .get_or_create(&SkillGroupOperationLabels {
            vendor,
            operation,
            result,
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readiness_lines(provider: &str) -> Vec<String> {
        METRICS
            .encode()
            .lines()
            .filter(|l| {
                l.starts_with("ccop_provider_ready{") && l.contains(&format!("provider=\"{provider}\""))
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_provider_has_one_readiness_series_that_follows_its_reason() {
        provider_ready("ns/metrics-test", false, "CredentialsInvalid");
        assert_eq!(
            readiness_lines("ns/metrics-test"),
            ["ccop_provider_ready{provider=\"ns/metrics-test\",reason=\"CredentialsInvalid\"} 0"]
        );
        provider_ready("ns/metrics-test", true, "Available");
        assert_eq!(
            readiness_lines("ns/metrics-test"),
            ["ccop_provider_ready{provider=\"ns/metrics-test\",reason=\"Available\"} 1"]
        );
        forget_provider("ns/metrics-test");
        assert!(readiness_lines("ns/metrics-test").is_empty());
    }

    #[test]
    fn skill_group_metrics_are_exported_under_their_names() {
        skill_groups("ns/groups-metrics-test", true, 3);
        skill_group_operation("huawei", "create", "ok");
        skill_group_operation("huawei", "create", "ok");
        let text = METRICS.encode();
        assert!(
            text.contains("ccop_skill_groups{provider=\"ns/groups-metrics-test\",ready=\"true\"} 3"),
            "{text}"
        );
        assert!(text.contains("# TYPE ccop_skill_groups gauge"), "{text}");
        let ops = text
            .lines()
            .find(|l| {
                l.starts_with("ccop_skill_group_operations_total{")
                    && l.contains("vendor=\"huawei\",operation=\"create\",result=\"ok\"")
            })
            .expect("the operation counter is exported");
        let count: f64 = ops.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(count >= 2.0, "{ops}");
    }
}
