//! Another replica of the operator, as far as its Lease is concerned: it holds and renews the
//! operator's leader lease from a clock that is `skew` away from ours, and notices when someone else
//! took the lease from it. It makes no vendor calls; it only occupies the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::task::JoinHandle;

/// How often the skewed replica renews.
const RENEW: Duration = Duration::from_millis(300);

/// A replica with a skewed clock, renewing the lease until it [`dies`](SkewedReplica::die).
pub struct SkewedReplica {
    /// Its identity in the Lease.
    pub identity: String,
    deposed: Arc<AtomicBool>,
    renewals: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl SkewedReplica {
    /// Takes lease `name` in `namespace` (whoever holds it), claiming `lease_secs` of validity, and
    /// renews it every 300 ms with `renewTime` = our clock + `skew`. Returns once the first write landed.
    pub async fn start(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        skew: jiff::SignedDuration,
        lease_secs: i32,
    ) -> SkewedReplica {
        let api: Api<Lease> = Api::namespaced(client, namespace);
        let spec = move || LeaseSpec {
            holder_identity: Some(identity.to_string()),
            lease_duration_seconds: Some(lease_secs),
            renew_time: Some(MicroTime(jiff::Timestamp::now() + skew)),
            acquire_time: Some(MicroTime(jiff::Timestamp::now() + skew)),
            ..Default::default()
        };
        // Taking it over: the test plays a replica that won the lease a moment ago.
        loop {
            let written = match api.get_opt(name).await {
                Ok(Some(mut lease)) => {
                    lease.spec = Some(spec());
                    api.replace(name, &PostParams::default(), &lease).await.map(drop)
                }
                Ok(None) => {
                    let lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(name.to_string()),
                            ..Default::default()
                        },
                        spec: Some(spec()),
                    };
                    api.create(&PostParams::default(), &lease).await.map(drop)
                }
                Err(e) => Err(e),
            };
            if written.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let deposed = Arc::new(AtomicBool::new(false));
        let renewals = Arc::new(AtomicU64::new(0));
        let (d, r, id, lease_name) = (
            deposed.clone(),
            renewals.clone(),
            identity.to_string(),
            name.to_string(),
        );
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW).await;
                let Ok(Some(mut lease)) = api.get_opt(&lease_name).await else {
                    continue;
                };
                let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                if spec.holder_identity.as_deref() != Some(id.as_str()) {
                    d.store(true, Ordering::SeqCst);
                    return;
                }
                spec.renew_time = Some(MicroTime(jiff::Timestamp::now() + skew));
                // A 409 means someone wrote in between: the next read says who.
                if api
                    .replace(&lease_name, &PostParams::default(), &lease)
                    .await
                    .is_ok()
                {
                    r.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        SkewedReplica {
            identity: identity.to_string(),
            deposed,
            renewals,
            task,
        }
    }

    /// Whether it found the lease held by someone else while it was still renewing.
    pub fn deposed(&self) -> bool {
        self.deposed.load(Ordering::SeqCst)
    }

    /// Renewals that landed.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::SeqCst)
    }

    /// The replica crashes: it stops renewing, leaving the lease as it last wrote it.
    pub fn die(self) {
        self.task.abort();
    }
}

/// The holder of lease `name` in `namespace`, if any.
pub async fn holder(client: Client, namespace: &str, name: &str) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    api.get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}
