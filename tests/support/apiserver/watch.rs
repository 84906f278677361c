//! Watch streams: newline-delimited `{"type": ..., "object": ...}` events over a chunked response.
//!
//! A watch starts from "now" with synthetic ADDED events for the existing objects (no
//! `resourceVersion`, or `0`), or replays the history after the given `resourceVersion`; one that is
//! older than the history gets a single ERROR event with a `410 Expired` Status, as a real server
//! answers (HTTP 200, error inside the stream), so kube's watcher relists. `sendInitialEvents=true`
//! (streaming lists, with `resourceVersionMatch=NotOlderThan` and bookmarks, as the real server
//! requires) ends the synthetic events with the `k8s.io/initial-events-end` bookmark. A server told
//! not to serve streaming lists ([`super::TestApiServer::serve_streaming_lists`]) refuses both
//! parameters with 422, as a server before Kubernetes 1.27 (or with the `WatchList` feature off) does.
//! With `allowWatchBookmarks`, a BOOKMARK with the current resourceVersion follows every
//! [`BOOKMARK_INTERVAL`] without events. A label selector turns an update that enters or leaves the
//! selection into ADDED or DELETED, as on a real server.

use std::{collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    response::Response,
};
use serde_json::{Value, json};
use tokio::{
    sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel},
    time::{Instant, Interval, MissedTickBehavior},
};

use super::{
    Shared,
    resources::Resource,
    selectors::Selector,
    status::ApiError,
    store::{Change, ChangeKind, resource_key},
};

/// The real server sends a bookmark about once a minute; a second keeps tests short.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(1);
/// A watch without `timeoutSeconds` ends after this long (the real server picks 30 to 60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// One event for one watch.
#[derive(Debug)]
pub struct Event {
    kind: &'static str,
    object: Arc<Value>,
}

impl Event {
    fn line(&self) -> Bytes {
        let mut line = serde_json::to_vec(&json!({"type": self.kind, "object": &*self.object}))
            .expect("a JSON value serializes");
        line.push(b'\n');
        Bytes::from(line)
    }
}

/// An open watch as the store sees it: what it selects and where its events go.
#[derive(Debug)]
pub struct Subscriber {
    resource: String,
    namespace: Option<String>,
    selector: Selector,
    tx: UnboundedSender<Event>,
}

impl Subscriber {
    /// Sends the change if this watch selects it. `false` once the watch is gone.
    pub fn offer(&self, change: &Change) -> bool {
        match self.translate(change) {
            Some(event) => self.tx.send(event).is_ok(),
            None => !self.tx.is_closed(),
        }
    }

    fn translate(&self, change: &Change) -> Option<Event> {
        if change.resource != self.resource
            || self.namespace.as_ref().is_some_and(|ns| *ns != change.namespace)
        {
            return None;
        }
        let now = self.selector.matches(&change.object);
        let before = change.old.as_ref().is_some_and(|old| self.selector.matches(old));
        let kind = match (change.kind, before, now) {
            (ChangeKind::Added, _, true) => "ADDED",
            (ChangeKind::Deleted, _, true) => "DELETED",
            (ChangeKind::Modified, true, true) => "MODIFIED",
            (ChangeKind::Modified, false, true) => "ADDED",
            (ChangeKind::Modified, true, false) => "DELETED",
            _ => return None,
        };
        Some(Event {
            kind,
            object: change.object.clone(),
        })
    }
}

/// The parameters of one watch request.
#[derive(Debug)]
pub struct WatchRequest {
    pub resource: Arc<Resource>,
    pub namespace: Option<String>,
    pub selector: Selector,
    pub resource_version: Option<String>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub resource_version_match: Option<String>,
    pub timeout: Option<Duration>,
}

/// Refuses the parameters the real server refuses on a watch: streaming-list ones where they are not
/// served, and a streaming list without `resourceVersionMatch=NotOlderThan` or bookmarks.
fn check_streaming(request: &WatchRequest, served: bool) -> Result<(), ApiError> {
    if !served {
        if request.resource_version_match.is_some() {
            return Err(ApiError::invalid_options(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch",
            ));
        }
        if request.send_initial_events {
            return Err(ApiError::invalid_options(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            ));
        }
        return Ok(());
    }
    let not_older = request.resource_version_match.as_deref() == Some("NotOlderThan");
    if request.send_initial_events && !not_older {
        return Err(ApiError::invalid_options(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if request.send_initial_events && !request.bookmarks {
        return Err(ApiError::invalid_options(
            "allowWatchBookmarks",
            "sendInitialEvents requires setting allowWatchBookmarks to true",
        ));
    }
    Ok(())
}

/// Opens a watch: registers it with the store (under the same lock as the backlog is taken, so no
/// change falls between the two) and returns the streaming response.
pub fn open(shared: &Arc<Shared>, request: WatchRequest) -> Result<Response, ApiError> {
    check_streaming(&request, shared.lock().streaming_lists)?;
    let since = match request.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {rv:?}")))?,
        ),
    };
    let (tx, rx) = unbounded_channel();
    let subscriber = Subscriber {
        resource: resource_key(&request.resource),
        namespace: request.namespace.clone(),
        selector: request.selector.clone(),
        tx,
    };
    let mut backlog = VecDeque::new();
    let mut live = Some(rx);
    {
        let mut state = shared.lock();
        let store = &mut state.store;
        match since.filter(|_| !request.send_initial_events) {
            None => {
                for stored in store.list(&request.resource, request.namespace.as_deref()) {
                    if request.selector.matches(&stored.object) {
                        backlog.push_back(event_json("ADDED", &stored.object));
                    }
                }
                if request.send_initial_events {
                    let rv = store.resource_version();
                    backlog.push_back(bookmark(&request.resource, rv, true));
                }
            }
            Some(rv) => match store.changes_since(rv) {
                Ok(changes) => backlog.extend(
                    changes
                        .iter()
                        .filter_map(|c| subscriber.translate(c))
                        .map(|e| event_json(e.kind, &e.object)),
                ),
                Err(oldest) => {
                    let gone = ApiError::gone(format!("too old resource version: {rv} ({oldest})"));
                    backlog.push_back(json!({"type": "ERROR", "object": gone.status()}));
                    live = None;
                }
            },
        }
        // A restarting server takes no new watches: they would hold its connections open.
        if live.is_some() && !state.stopping {
            state.store.subscribe(subscriber);
        } else {
            live = None;
        }
    }
    let stream = WatchStream {
        backlog,
        live,
        deadline: Instant::now() + request.timeout.unwrap_or(DEFAULT_TIMEOUT),
        bookmarks: request.bookmarks.then(|| {
            let mut tick = tokio::time::interval_at(Instant::now() + BOOKMARK_INTERVAL, BOOKMARK_INTERVAL);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tick
        }),
        shared: shared.clone(),
        resource: request.resource,
    };
    let body = futures::stream::unfold(stream, WatchStream::next);
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(body))
        .expect("a static response builds"))
}

fn event_json(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

fn bookmark(resource: &Resource, rv: u64, initial_events_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({
        "type": "BOOKMARK",
        "object": {"kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata},
    })
}

struct WatchStream {
    backlog: VecDeque<Value>,
    /// `None` once the stream only drains its backlog (a 410, or a restarting server).
    live: Option<UnboundedReceiver<Event>>,
    deadline: Instant,
    bookmarks: Option<Interval>,
    shared: Arc<Shared>,
    resource: Arc<Resource>,
}

enum Step {
    Event(Event),
    Bookmark,
    End,
}

impl WatchStream {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(event) = self.backlog.pop_front() {
            let mut line = serde_json::to_vec(&event).expect("a JSON value serializes");
            line.push(b'\n');
            return Some((Ok(Bytes::from(line)), self));
        }
        loop {
            let deadline = self.deadline;
            let rx = self.live.as_mut()?;
            let bookmarks = &mut self.bookmarks;
            let ticking = bookmarks.is_some();
            let step = tokio::select! {
                event = rx.recv() => event.map_or(Step::End, Step::Event),
                _ = tokio::time::sleep_until(deadline) => Step::End,
                Some(_) = async { Some(bookmarks.as_mut()?.tick().await) }, if ticking => Step::Bookmark,
            };
            match step {
                Step::Event(event) => return Some((Ok(event.line()), self)),
                Step::End => return None,
                Step::Bookmark => {
                    if let Some(line) = self.bookmark_line() {
                        return Some((Ok(line), self));
                    }
                }
            }
        }
    }

    /// A bookmark may carry the current resourceVersion only when no event for this watch is still
    /// queued: the store offers events under the lock held here, so an empty queue means every
    /// change up to that version has been sent.
    fn bookmark_line(&self) -> Option<Bytes> {
        let state = self.shared.lock();
        let queued = self.live.as_ref().is_some_and(|rx| !rx.is_empty());
        if queued {
            return None;
        }
        let mut line = serde_json::to_vec(&bookmark(&self.resource, state.store.resource_version(), false))
            .expect("a JSON value serializes");
        line.push(b'\n');
        Some(Bytes::from(line))
    }
}
