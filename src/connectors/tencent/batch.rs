//! Gathers concurrent single-item calls into one batch request.
//!
//! Tencent creates up to 10 agents per `CreateStaff` and deletes up to 200 per `DeleteStaff`, and both
//! actions share the same 20 requests/second as single-item ones. Reconciles run concurrently, one agent
//! each, so the client gathers what arrives into one request: a roster of 500 new agents costs 50 calls
//! instead of 500.
//!
//! A batch is sent when it is full, or when it has had no company for a while ([`Timing::quiet`]: the
//! items that were coming have come), or when its first item has waited [`Timing::max_hold`] (a slow
//! trickle still moves). A fixed window instead closes part-full whenever reconciles arrive slower
//! than the window expects, as they do against a real API server (measured there: 6.8 staff per
//! `CreateStaff` with a 100 ms window). And while the action's rate bucket has no token, a batch that
//! is not full is held until the token is due, quiet or not: sent now, it would only wait in the bucket,
//! and every item that joins meanwhile is one request fewer.
//!
//! The first item to arrive starts a flusher task that waits as above, takes up to `max` items, and
//! sends them on their own task; each caller gets its own result through a oneshot channel. The flusher
//! is a spawned task rather than the first caller's future, so a caller that gives up (a cancelled
//! reconcile) never strands the others.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::connectors::VendorError;

/// One queued item and where its result goes.
pub struct Pending<T, R> {
    /// The item.
    pub item: T,
    reply: oneshot::Sender<Result<R, VendorError>>,
}

impl<T, R> Pending<T, R> {
    /// Hands the caller its result. A caller that gave up is not an error.
    pub fn finish(self, result: Result<R, VendorError>) {
        let _ = self.reply.send(result);
    }
}

/// When a batch that is not full goes.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Sent once no item has joined, and no earlier batch has been answered, for this long. Also what
    /// a lone item waits. An answered batch counts as activity: its callers go on to their next
    /// reconciles, whose creates are the company a part-full batch is waiting for.
    pub quiet: Duration,
    /// The longest the batch's first item waits for company (the wait for a rate token aside).
    pub max_hold: Duration,
}

/// How long until the action's rate bucket has a token (zero: it has one now).
pub type Gate = Box<dyn Fn() -> Duration + Send + Sync>;

struct Queue<T, R> {
    items: Vec<Pending<T, R>>,
    flusher_running: bool,
    /// When the oldest queued item arrived.
    first_at: Instant,
    /// When the newest queued item arrived, or an earlier batch was answered, whichever is later.
    last_at: Instant,
}

/// A batcher of items `T` with per-item results `R`.
pub struct Batcher<T, R> {
    max: usize,
    timing: Timing,
    gate: Option<Gate>,
    queue: Mutex<Queue<T, R>>,
    arrived: Notify,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Batches of at most `max` items, sent as [`Timing`] says, and held while `gate` (when given)
    /// says no token is left.
    pub fn new(max: usize, timing: Timing, gate: Option<Gate>) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Batcher {
            max: max.max(1),
            timing,
            gate,
            queue: Mutex::new(Queue {
                items: Vec::new(),
                flusher_running: false,
                first_at: now,
                last_at: now,
            }),
            arrived: Notify::new(),
        })
    }

    /// Queues `item` and waits for its result. `send` gets whole batches and must finish every
    /// [`Pending`] it is given (an unfinished one reads as a transient error to its caller).
    pub async fn submit<F, Fut>(self: &Arc<Self>, item: T, send: F) -> Result<R, VendorError>
    where
        F: Fn(Vec<Pending<T, R>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let start_flusher = {
            let mut q = self.queue.lock().expect("batch queue lock");
            let now = Instant::now();
            if q.items.is_empty() {
                q.first_at = now;
            }
            q.last_at = now;
            q.items.push(Pending { item, reply: tx });
            !std::mem::replace(&mut q.flusher_running, true)
        };
        self.arrived.notify_one();
        if start_flusher {
            tokio::spawn(self.clone().flush(send));
        }
        rx.await
            .unwrap_or_else(|_| Err(VendorError::transient("the batched request was abandoned")))
    }

    async fn flush<F, Fut>(self: Arc<Self>, send: F)
    where
        F: Fn(Vec<Pending<T, R>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            self.until_due().await;
            let batch: Vec<_> = {
                let mut q = self.queue.lock().expect("batch queue lock");
                let n = q.items.len().min(self.max);
                let batch = q.items.drain(..n).collect();
                // Who is left waited from now on: they were not the company of the batch just sent.
                let now = Instant::now();
                (q.first_at, q.last_at) = (now, now);
                batch
            };
            if !batch.is_empty() {
                let sent = send(batch);
                let batcher = self.clone();
                tokio::spawn(async move {
                    sent.await;
                    batcher.answered();
                });
            }
            let mut q = self.queue.lock().expect("batch queue lock");
            if q.items.is_empty() {
                q.flusher_running = false;
                return;
            }
        }
    }

    /// Notes that a batch was answered: a part-full batch keeps waiting for its callers' next items.
    fn answered(&self) {
        let mut q = self.queue.lock().expect("batch queue lock");
        if !q.items.is_empty() {
            q.last_at = q.last_at.max(Instant::now());
        }
    }

    /// Waits until the queued batch is due: full, quiet, held long enough, and (unless full) a rate
    /// token is there for it.
    async fn until_due(&self) {
        loop {
            let (queued, first_at, last_at) = {
                let q = self.queue.lock().expect("batch queue lock");
                (q.items.len(), q.first_at, q.last_at)
            };
            if queued >= self.max {
                return;
            }
            let now = Instant::now();
            let company_done = (last_at + self.timing.quiet).min(first_at + self.timing.max_hold);
            let token_due = now
                + self
                    .gate
                    .as_ref()
                    .map_or(Duration::ZERO, |next_token| next_token());
            let due = company_done.max(token_due);
            if due <= now {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = self.arrived.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn echo_sender(
        sizes: Arc<Mutex<Vec<usize>>>,
    ) -> impl Fn(Vec<Pending<u32, u32>>) -> std::future::Ready<()> + Send + Sync + 'static {
        move |batch: Vec<Pending<u32, u32>>| {
            sizes.lock().unwrap().push(batch.len());
            for p in batch {
                let v = p.item * 2;
                p.finish(Ok(v));
            }
            std::future::ready(())
        }
    }

    fn timing(quiet_ms: u64, max_hold_ms: u64) -> Timing {
        Timing {
            quiet: Duration::from_millis(quiet_ms),
            max_hold: Duration::from_millis(max_hold_ms),
        }
    }

    /// Submits `count` items, one every `gap`, and returns the batch sizes in the order sent.
    async fn trickle(batcher: &Arc<Batcher<u32, u32>>, count: u32, gap: Duration) -> Vec<usize> {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..count {
            let b = batcher.clone();
            let send = echo_sender(sizes.clone());
            handles.push(tokio::spawn(async move { b.submit(i, send).await }));
            tokio::time::sleep(gap).await;
        }
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().unwrap(), i as u32 * 2);
        }
        sizes.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_items_share_batches_of_at_most_max() {
        let batcher = Batcher::<u32, u32>::new(10, timing(25, 1000), None);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..25)
            .map(|i| {
                let b = batcher.clone();
                let send = echo_sender(sizes.clone());
                tokio::spawn(async move { b.submit(i, send).await })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().unwrap(), i as u32 * 2);
        }
        let mut sizes = sizes.lock().unwrap().clone();
        sizes.sort();
        assert_eq!(sizes, [5, 10, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_item_goes_after_the_window() {
        let batcher = Batcher::<u32, u32>::new(10, timing(25, 1000), None);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let start = tokio::time::Instant::now();
        assert_eq!(batcher.submit(4, echo_sender(sizes.clone())).await.unwrap(), 8);
        assert_eq!(start.elapsed(), Duration::from_millis(25));
        // and the next one starts a new flusher
        assert_eq!(batcher.submit(5, echo_sender(sizes.clone())).await.unwrap(), 10);
        assert_eq!(*sizes.lock().unwrap(), [1, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_item_is_a_transient_error() {
        let batcher = Batcher::<u32, u32>::new(10, timing(1, 1000), None);
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let out = batcher
            .submit(1, move |batch: Vec<Pending<u32, u32>>| {
                d.fetch_add(batch.len(), Ordering::SeqCst);
                drop(batch);
                std::future::ready(())
            })
            .await;
        assert!(out.unwrap_err().retryable);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn items_arriving_slower_than_a_window_still_fill_their_batches() {
        // One item every 40 ms: a 100 ms window would close with 2 or 3. Each gap is shorter than the
        // quiet time, so every batch waits for its tenth item; only the last one is part-full.
        let batcher = Batcher::<u32, u32>::new(10, timing(100, 2000), None);
        let sizes = trickle(&batcher, 35, Duration::from_millis(40)).await;
        assert_eq!(sizes, [10, 10, 10, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_item_waits_at_most_the_hold_time() {
        let batcher = Batcher::<u32, u32>::new(10, timing(100, 275), None);
        let started = tokio::time::Instant::now();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let first = {
            let b = batcher.clone();
            let send = echo_sender(sizes.clone());
            tokio::spawn(async move {
                b.submit(0, send).await.unwrap();
                tokio::time::Instant::now()
            })
        };
        // Company keeps coming, 50 ms apart, never ten of it within the hold time.
        for i in 1..8 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let b = batcher.clone();
            let send = echo_sender(sizes.clone());
            tokio::spawn(async move { b.submit(i, send).await });
        }
        let sent_at = first.await.unwrap();
        assert_eq!(sent_at - started, Duration::from_millis(275));
        assert_eq!(
            sizes.lock().unwrap()[0],
            6,
            "what had come by then (0 to 250 ms) went along"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_is_held_while_the_rate_bucket_has_no_token() {
        // Items 150 ms apart are each alone by the quiet rule, but the bucket's next token is 1 s
        // away: sending would only wait in the bucket, so the batch collects until the token is due.
        let token_at = tokio::time::Instant::now() + Duration::from_millis(1000);
        let gate: Gate = Box::new(move || token_at.saturating_duration_since(tokio::time::Instant::now()));
        let batcher = Batcher::<u32, u32>::new(10, timing(100, 200), Some(gate));
        let sizes = trickle(&batcher, 8, Duration::from_millis(150)).await;
        assert_eq!(
            sizes,
            [7, 1],
            "seven arrived before the token (at 0..900 ms), the eighth after"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_batch_keeps_a_part_full_one_waiting_for_its_callers_next_items() {
        // Twelve callers in a loop, each creating its next item 180 ms after its last was answered,
        // 230 ms after it was sent: longer than the quiet time counted from the last arrival (200 ms),
        // shorter than counted from the answer. The two left over from each round wait for the ten
        // whose batch was answered, and every batch but the last is full.
        let batcher = Batcher::<u32, u32>::new(10, timing(200, 2000), None);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let callers: Vec<_> = (0..12u32)
            .map(|c| {
                let b = batcher.clone();
                let sizes = sizes.clone();
                tokio::spawn(async move {
                    for round in 0..5 {
                        let sizes = sizes.clone();
                        let send = move |batch: Vec<Pending<u32, u32>>| {
                            let sizes = sizes.clone();
                            async move {
                                // The vendor takes 50 ms to answer.
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                sizes.lock().unwrap().push(batch.len());
                                for p in batch {
                                    let v = p.item;
                                    p.finish(Ok(v));
                                }
                            }
                        };
                        b.submit(c * 10 + round, send).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(180)).await;
                    }
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 60);
        let (_last, earlier) = sizes.split_last().unwrap();
        assert!(
            earlier.iter().all(|&n| n == 10),
            "only the last batch is part-full: {sizes:?}"
        );
    }
}
