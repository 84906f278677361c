//! Gathers concurrent single-item calls into one batch request.
//!
//! Tencent creates up to 10 agents per `CreateStaff` and deletes up to 200 per `DeleteStaff`, and both
//! actions share the same 20 requests/second as single-item ones. Reconciles run concurrently, one agent
//! each, so the client gathers what arrives within a short window into one request: a roster of 500 new
//! agents costs 50 calls instead of 500.
//!
//! The first item to arrive starts a flusher task that waits for the window (or until the batch is
//! full), takes up to `max` items, and sends them on their own task; each caller gets its own result
//! through a oneshot channel. The flusher is a spawned task rather than the first caller's future, so a
//! caller that gives up (a cancelled reconcile) never strands the others.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

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

struct Queue<T, R> {
    items: Vec<Pending<T, R>>,
    flusher_running: bool,
}

/// A batcher of items `T` with per-item results `R`.
pub struct Batcher<T, R> {
    max: usize,
    window: Duration,
    queue: Mutex<Queue<T, R>>,
    full: Notify,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Batches of at most `max` items, each waiting at most `window` for company.
    pub fn new(max: usize, window: Duration) -> Arc<Self> {
        Arc::new(Batcher {
            max: max.max(1),
            window,
            queue: Mutex::new(Queue {
                items: Vec::new(),
                flusher_running: false,
            }),
            full: Notify::new(),
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
            q.items.push(Pending { item, reply: tx });
            if q.items.len() >= self.max {
                self.full.notify_one();
            }
            !std::mem::replace(&mut q.flusher_running, true)
        };
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
            let queued = self.queue.lock().expect("batch queue lock").items.len();
            if queued < self.max {
                tokio::select! {
                    _ = tokio::time::sleep(self.window) => {}
                    _ = self.full.notified() => {}
                }
            }
            let batch: Vec<_> = {
                let mut q = self.queue.lock().expect("batch queue lock");
                let n = q.items.len().min(self.max);
                q.items.drain(..n).collect()
            };
            if !batch.is_empty() {
                tokio::spawn(send(batch));
            }
            let mut q = self.queue.lock().expect("batch queue lock");
            if q.items.is_empty() {
                q.flusher_running = false;
                return;
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

    #[tokio::test(start_paused = true)]
    async fn concurrent_items_share_batches_of_at_most_max() {
        let batcher = Batcher::<u32, u32>::new(10, Duration::from_millis(25));
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
        let batcher = Batcher::<u32, u32>::new(10, Duration::from_millis(25));
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
        let batcher = Batcher::<u32, u32>::new(10, Duration::from_millis(1));
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
}
