//! What a request costs: the time a real kube-apiserver (with etcd) takes to answer it, so the
//! benchmark can show the bottleneck a cluster imposes. Off by default ([`CostModel::free`]): tests
//! get today's microsecond answers.
//!
//! Two parts, both applied before the request is served, so the write takes effect (and its watch
//! event goes out) when the caller gets its answer:
//! - a latency per kind of request (object write, status write, server-side apply, get, list);
//! - a ceiling on writes per second for the whole server: a write starts no earlier than `1/ceiling`
//!   after the previous one started, whatever its resource. Writes are where a real server spends
//!   its CPU (admission, validation, managedFields, the etcd transaction, the watch fan-out), so
//!   Events and Leases take their share of the ceiling like agents do.
//!
//! Watches cost nothing here: their price is the fan-out of each write, which the write's latency
//! and the ceiling already carry.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// One request, as far as its cost goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Get,
    List,
    /// A create, update, patch or delete; `status` for the status subresource; `apply` for a
    /// server-side apply patch.
    Write {
        status: bool,
        apply: bool,
    },
}

/// Latencies and the write ceiling. Every figure can be set on its own (the benchmark has a flag for
/// each); [`CostModel::measured`] holds the defaults and says where each comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostModel {
    /// Create, update, merge/JSON patch or delete of an object (not its status).
    pub object_write: Duration,
    /// Update or merge/JSON patch of the status subresource.
    pub status_write: Duration,
    /// Server-side apply, added to the object or status write it is.
    pub apply_extra: Duration,
    /// Reading one object.
    pub get: Duration,
    /// One list page.
    pub list: Duration,
    /// Writes the whole server completes per second at most; `None`: no ceiling.
    pub writes_per_second: Option<f64>,
}

impl CostModel {
    /// Answers at once and never queues writes (what every test uses).
    pub fn free() -> CostModel {
        CostModel {
            object_write: Duration::ZERO,
            status_write: Duration::ZERO,
            apply_extra: Duration::ZERO,
            get: Duration::ZERO,
            list: Duration::ZERO,
            writes_per_second: None,
        }
    }

    /// kube-apiserver v1.36 with etcd 3.6 on a 2-core machine it shares with the operator and the
    /// simulator, as measured during a 10,000-agent Tencent cold start:
    /// - object PATCH (the finalizer) took 65 ms on average and status PATCH 18 ms, at 32 concurrent
    ///   writers, with the server at about 140 % CPU and about 170 writes/s in all: the ceiling.
    /// - create, update and delete of an object take the object PATCH figure: the same admission,
    ///   validation, etcd transaction and fan-out of the whole object.
    /// - server-side apply adds nothing by default: the only figure for it is an idle create (4 ms),
    ///   which says nothing about apply under load. `apply_extra` is there to try a dearer apply.
    /// - reads were not measured; a real server answers them from its watch cache without etcd, so
    ///   they are taken as small (2 ms a get, 5 ms a list page) and are not held to the ceiling.
    pub fn measured() -> CostModel {
        CostModel {
            object_write: Duration::from_millis(65),
            status_write: Duration::from_millis(18),
            apply_extra: Duration::ZERO,
            get: Duration::from_millis(2),
            list: Duration::from_millis(5),
            writes_per_second: Some(170.0),
        }
    }

    /// Whether no request costs anything.
    pub fn is_free(&self) -> bool {
        *self == CostModel::free()
    }

    /// The latency of `request` alone, without waiting for the ceiling.
    pub fn latency(&self, request: Request) -> Duration {
        match request {
            Request::Get => self.get,
            Request::List => self.list,
            Request::Write { status, apply } => {
                let base = if status {
                    self.status_write
                } else {
                    self.object_write
                };
                if apply { base + self.apply_extra } else { base }
            }
        }
    }
}

impl Default for CostModel {
    fn default() -> CostModel {
        CostModel::free()
    }
}

/// The cost model in force and the write ceiling's queue.
#[derive(Debug, Default)]
pub struct Costs {
    gate: Mutex<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    model: CostModel,
    /// The earliest moment the next write may start under the ceiling.
    next_write: Option<Instant>,
}

impl Costs {
    /// Puts `model` in force for requests that arrive from now on.
    pub fn set(&self, model: CostModel) {
        let mut gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
        gate.model = model;
        gate.next_write = None;
    }

    /// The model in force.
    pub fn model(&self) -> CostModel {
        self.gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .model
            .clone()
    }

    /// How long `request`, arriving at `now`, waits before it is served: its queue time under the
    /// write ceiling plus its latency. A write takes its place in the queue here, so calls must
    /// come in arrival order (they do: each request calls this once, when it arrives).
    pub fn delay(&self, request: Request, now: Instant) -> Duration {
        let mut gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let latency = gate.model.latency(request);
        let spacing = match (request, gate.model.writes_per_second) {
            (Request::Write { .. }, Some(rate)) if rate > 0.0 => Duration::from_secs_f64(1.0 / rate),
            _ => return latency,
        };
        let start = gate.next_write.map_or(now, |next| next.max(now));
        gate.next_write = Some(start + spacing);
        (start - now) + latency
    }
}
