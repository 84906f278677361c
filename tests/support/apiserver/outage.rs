//! Injected read failures: the next reads (get, list, watch) answer a 5xx, as an API server that is
//! overloaded or whose etcd is unreachable would. Writes have their own injector
//! ([`TestApiServer::fail_next_writes`]).

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
