//! Revoking the operator's Ozonetel token. Every mint revokes the account's earlier tokens, so only
//! the replica that holds the leader lease may mint: a standby, a leader whose lease was taken over,
//! and any process that did not win an election (the CLI: see `cli.rs`) must not.

use std::sync::atomic::Ordering;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::PostParams;

use crate::support::operator::{Env, leader_options};

#[tokio::test]
async fn a_deposed_leader_stops_minting_at_once() {
    let env = Env::start("10m").await;
    let opts = leader_options("replica-a");
    let may_mint = opts.client.may_mint_tokens.clone();
    assert!(
        !may_mint.load(Ordering::SeqCst),
        "nobody may mint before an election"
    );
    let op = env.run(opts);
    env.wait("replica-a to lead and mint", || may_mint.load(Ordering::SeqCst))
        .await;

    // Another replica takes the lease over (as after a partition that outlasted the lease).
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "ccop-system");
    let mut lease = leases.get("contact-center-operator").await.unwrap();
    let spec = lease.spec.as_mut().unwrap();
    spec.holder_identity = Some("replica-b".into());
    spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    spec.lease_duration_seconds = Some(60);
    leases
        .replace("contact-center-operator", &PostParams::default(), &lease)
        .await
        .unwrap();

    // One renewal period later replica-a knows, and may no longer mint.
    let deadline = tokio::time::Instant::now() + ccop::controller::leader::RENEW_EVERY * 2;
    while may_mint.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a deposed leader still may mint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    op.stop().await;
    assert!(!may_mint.load(Ordering::SeqCst));
}
