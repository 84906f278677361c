//! Prometheus metrics of the operator, served on `/metrics`.
//!
//! Labels are bounded sets (vendor, action, outcome, result, condition, provider); agent names never
//! become labels, so the series count does not grow with the roster.

use std::sync::LazyLock;
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
    Metrics {
        registry,
        reconciles,
        reconcile_duration,
        vendor_requests,
        vendor_latency,
        rate_limiter_wait,
        agents,
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
