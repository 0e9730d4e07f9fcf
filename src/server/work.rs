//! Turns for CPU-heavy work (forecasts, analyses, batch assignment, ledger reads), so that no
//! number of requests can starve the service.
//!
//! - At most two pieces of work per core run at once; the rest wait their turn, first come first
//!   served (tokio's semaphore is fair), so a burst of expensive requests queues behind itself
//!   instead of sharing the cores two hundred ways, and `/healthz` and cheap routes, which never
//!   take a turn, answer at once.
//! - Each request has a deadline (`request_timeout_secs`, waiting included). Past it the answer
//!   is 503 `deadline_exceeded` and the work is told to stop.
//! - When the client goes away, the handler's future is dropped: work still waiting for its turn
//!   never starts, and running work is told to stop ([`Interrupt`]; the forecast's Monte Carlo
//!   looks every 0.1 ms).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::error::ApiError;
use crate::error::Error;
use crate::interrupt::Interrupt;

/// The turns and the deadline.
pub struct Work {
    slots: Arc<Semaphore>,
    deadline: Duration,
}

/// Raises the interrupt when dropped: when the request's future is dropped (the client left)
/// or the work is done (then nobody looks any more).
struct RaiseOnDrop(Arc<Interrupt>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.raise();
    }
}

fn deadline_exceeded(waiting: bool) -> ApiError {
    let (code, what) = if waiting {
        ("overloaded", "the service is busy: the request waited for its turn past the deadline (request_timeout_secs)")
    } else {
        ("deadline_exceeded", "the request's work did not finish within the service's deadline (request_timeout_secs)")
    };
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, format!("{what}; try again later"))
}

impl Work {
    /// Two turns per core, and `deadline` per request.
    pub fn new(deadline: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Work { slots: Arc::new(Semaphore::new(2 * cores)), deadline }
    }

    /// Runs `f` on a blocking thread when its turn comes, within the deadline; `f` gets the
    /// interrupt to pass to long loops.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Interrupt) -> crate::Result<T> + Send + 'static,
    {
        let until = Instant::now() + self.deadline;
        let stop = Arc::new(Interrupt::new());
        let _raise = RaiseOnDrop(stop.clone());
        let permit = tokio::time::timeout_at(until, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| deadline_exceeded(true))?
            .map_err(|e| ApiError::from(Error::Internal(e.to_string())))?;
        let inner = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            let out = f(&inner);
            drop(permit); // the next request starts as soon as this one's numbers are ready
            out
        });
        match tokio::time::timeout_at(until, task).await {
            Err(_) => {
                stop.raise();
                Err(deadline_exceeded(false))
            }
            Ok(joined) => Ok(joined.map_err(|e| Error::Internal(e.to_string()))??),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Work that runs until it is interrupted, and says when it stopped.
    fn endless(stopped: Arc<AtomicBool>) -> impl FnOnce(&Interrupt) -> crate::Result<()> + Send + 'static {
        move |stop| {
            let t0 = std::time::Instant::now();
            while !stop.is_raised() {
                assert!(t0.elapsed() < Duration::from_secs(20), "never interrupted");
                std::thread::sleep(Duration::from_millis(1));
            }
            stopped.store(true, Ordering::SeqCst);
            stop.check()
        }
    }

    async fn wait_for(flag: &AtomicBool) {
        let t0 = Instant::now();
        while !flag.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(5), "the work did not stop");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Issue 12: past the deadline the answer is 503 and the work stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_past_the_deadline_is_stopped() {
        let work = Work::new(Duration::from_millis(200));
        let stopped = Arc::new(AtomicBool::new(false));
        let e = work.run(endless(stopped.clone())).await.unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::SERVICE_UNAVAILABLE, "deadline_exceeded"));
        wait_for(&stopped).await;
    }

    /// Issue 12: when the client leaves (the request's future is dropped), running work stops and
    /// waiting work never starts, so abandoned requests do not slow down the next ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_of_a_client_that_left_stops() {
        let work = Arc::new(Work::new(Duration::from_secs(60)));
        let turns = work.slots.available_permits();
        let stopped: Vec<Arc<AtomicBool>> = (0..turns).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let started_late = Arc::new(AtomicBool::new(false));
        let mut running = Vec::new();
        for s in &stopped {
            let (w, s) = (work.clone(), s.clone());
            running.push(tokio::spawn(async move { w.run(endless(s)).await }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(work.slots.available_permits(), 0);
        let (w, late) = (work.clone(), started_late.clone());
        let waiting = tokio::spawn(async move {
            w.run(move |_| {
                late.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting.abort(); // the waiting client leaves first
        for r in &running {
            r.abort(); // then the running ones
        }
        for s in &stopped {
            wait_for(s).await;
        }
        let t0 = Instant::now();
        while work.slots.available_permits() < turns {
            assert!(t0.elapsed() < Duration::from_secs(5), "turns not given back");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!started_late.load(Ordering::SeqCst), "the abandoned request's work started");
    }
}
