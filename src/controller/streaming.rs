//! Streaming lists: the watches start with `sendInitialEvents=true` where the API server serves it,
//! and with a list, then a watch, where it does not.
//!
//! A streaming list gets the initial objects as watch events from the server's watch cache, then a
//! bookmark annotated `k8s.io/initial-events-end`; a list instead builds the whole (paged) response in
//! the API server's memory, page after page, which for 100,000 agents is the costliest thing an
//! operator restart asks of it. Servers from Kubernetes 1.32 serve streaming lists by default (the
//! `WatchList` feature); older ones, or one with the feature off, refuse the request (422: the
//! `sendInitialEvents` or `resourceVersionMatch` parameter is forbidden for a watch), and kube's
//! watcher would retry that refusal forever rather than fall back. So the operator asks once per
//! leader term, with a watch that selects nothing, and uses what the answer allows for every watch.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::WatchParams;
use kube::core::WatchEvent;
use kube::runtime::watcher;
use kube::{Api, Client};

use crate::api::ContactCenterAgent;

/// The annotation of the bookmark that ends a streaming list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A label no object carries: the probe's watch selects nothing, so its only event is the bookmark.
const NOTHING: &str = "contactcenter.dev/streaming-list-probe=none";

/// How long the probe waits for its bookmark. A server that accepts the parameters but sends no
/// bookmark is treated as one without streaming lists.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the watches get their initial objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialList {
    /// `sendInitialEvents=true`: one watch request streams them.
    Streaming,
    /// A paged list, then a watch from its resourceVersion.
    ListThenWatch,
}

impl InitialList {
    /// `config` with this strategy.
    pub fn apply(self, config: watcher::Config) -> watcher::Config {
        match self {
            InitialList::Streaming => config.streaming_lists(),
            InitialList::ListThenWatch => config,
        }
    }
}

/// Asks the API server whether it serves streaming lists, through a watch of the agents of `scope`
/// (a namespace, or all) that selects nothing.
pub async fn probe(client: &Client, scope: Option<&str>) -> InitialList {
    let api: Api<ContactCenterAgent> = match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let params = WatchParams::streaming_lists()
        .labels(NOTHING)
        .timeout(PROBE_TIMEOUT.as_secs() as u32);
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        let events = api.watch(&params, "0").await?;
        let mut events = std::pin::pin!(events.boxed());
        events.try_next().await
    })
    .await;
    let strategy = match answer {
        Ok(Ok(Some(WatchEvent::Bookmark(b)))) if b.metadata.annotations.contains_key(INITIAL_EVENTS_END) => {
            InitialList::Streaming
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "the API server does not serve streaming lists; watches list first");
            InitialList::ListThenWatch
        }
        _ => InitialList::ListThenWatch,
    };
    tracing::debug!(?strategy, "initial list strategy");
    strategy
}
