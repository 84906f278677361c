//! Injected read failures: the next reads (get, list, watch) answer a 5xx, as an API server that is
//! overloaded or whose etcd is unreachable would. Writes have their own injector
//! ([`TestApiServer::fail_next_writes`]). And held reads: the watches of one resource wait until
//! released, as a slow initial listing makes them wait.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

use super::TestApiServer;

/// How many reads are still to fail, and with which status.
#[derive(Debug, Default)]
pub(super) struct ReadFaults {
    remaining: usize,
    status: u16,
}

impl ReadFaults {
    /// The status the current read must fail with, if any is still due.
    pub(super) fn take(&mut self) -> Option<u16> {
        (self.remaining > 0).then(|| {
            self.remaining -= 1;
            self.status
        })
    }
}

impl TestApiServer {
    /// The next `n` reads (get, list, watch) fail with `status` (500 or 503) before they are served;
    /// `n = 0` stops it.
    pub fn fail_next_reads(&self, n: usize, status: u16) {
        let mut state = self.shared.lock();
        state.read_faults = ReadFaults { remaining: n, status };
    }
}

/// The resources (by plural) whose watches wait.
#[derive(Debug, Default)]
pub(super) struct ReadHolds {
    held: Mutex<HashSet<String>>,
    released: Notify,
}

impl ReadHolds {
    /// Completes once reads of `plural` are not held.
    pub(super) async fn pass(&self, plural: &str) {
        loop {
            // Registered before the check, so a release between the check and the wait is not missed.
            let released = self.released.notified();
            if !self.is_held(plural) {
                return;
            }
            released.await;
        }
    }

    fn is_held(&self, plural: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(plural)
    }

    fn set(&self, plural: &str, held: bool) {
        let mut set = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held {
            set.insert(plural.to_string());
        } else {
            set.remove(plural);
            self.released.notify_waiters();
        }
    }
}

/// Holds the reads of one resource while it lives; dropping it releases them.
#[must_use = "the reads are released when the hold is dropped"]
pub struct ReadHold {
    server: TestApiServer,
    plural: String,
}

impl Drop for ReadHold {
    fn drop(&mut self) {
        self.server.shared.holds.set(&self.plural, false);
    }
}

impl TestApiServer {
    /// Watches of every `plural` object (e.g. `contactcenteragents`) wait, unanswered, until the
    /// returned hold is dropped, as the initial listing of many objects after a restart keeps a
    /// controller waiting (with streaming lists, that listing is the watch). A watch that selects by
    /// label (the operator's streaming-list probe selects nothing), lists and every other request
    /// are served as usual.
    pub fn hold_reads_of(&self, plural: &str) -> ReadHold {
        self.shared.holds.set(plural, true);
        ReadHold {
            server: self.clone(),
            plural: plural.to_string(),
        }
    }
}
