//! Counts work running in detached tasks (stampings), so shutdown can wait for it.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// How many tasks are running, and a signal when the count drops to zero.
#[derive(Debug, Default)]
pub struct InFlight {
    /// Running tasks.
    running: AtomicUsize,
    /// Woken each time a task ends.
    ended: Notify,
}

/// Held by a running task; dropping it (normally or by a panic) ends the task's count.
#[derive(Debug)]
pub struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    /// Counts one more running task until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self)
    }

    /// Tasks running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Returns once no task is running.
    pub async fn wait_idle(&self) {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            // Register before checking, so an end between the check and the wait is not missed.
            ended.as_mut().enable();
            if self.running() == 0 {
                return;
            }
            ended.await;
        }
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}
