//! Turns for CPU-heavy work (forecasts, analyses, batch assignment, ledger reads), so that no
//! number of requests can starve the service.
//!
//! - At most two pieces of work per core run at once, and at most one *heavy* piece per core
//!   (a forecast well above the default size, a large batch or analysis, a ledger scan): so
//!   however many expensive requests arrive, turns stay free for ordinary ones. The rest wait
//!   their turn, first come first served (tokio's semaphores are fair).
//! - The work runs on threads at a lower scheduling priority (nice 10), so the threads that
//!   accept connections and answer `/healthz` and cheap routes are never starved by it.
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

/// How much a piece of work may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Up to a few milliseconds: a forecast of the default size, a single read.
    Light,
    /// More: these share at most one turn per core.
    Heavy,
}

/// The turns and the deadline.
pub struct Work {
    slots: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
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

/// Lowers the calling thread's scheduling priority to nice 10, once per thread (Linux: nice is
/// per thread). Blocking-pool threads run only background work (this module's work, parsing large
/// bodies, ledger writes), so the async threads that answer cheap routes keep the cores.
pub(crate) fn background_priority() {
    thread_local!(static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    LOWERED.with(|l| {
        if !l.replace(true) {
            #[cfg(target_os = "linux")]
            // SAFETY: gettid and setpriority have no memory-safety preconditions; a failure
            // leaves the priority as it was, which is harmless.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
        }
    });
}

impl Work {
    /// Two turns per core (one per core for heavy work), and `deadline` per request.
    pub fn new(deadline: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Work { slots: Arc::new(Semaphore::new(2 * cores)), heavy: Arc::new(Semaphore::new(cores)), deadline }
    }

    /// Runs `f` on a background thread when its turn comes, within the deadline; `f` gets the
    /// interrupt to pass to long loops.
    pub async fn run<T, F>(&self, cost: Cost, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Interrupt) -> crate::Result<T> + Send + 'static,
    {
        let until = Instant::now() + self.deadline;
        let stop = Arc::new(Interrupt::new());
        let _raise = RaiseOnDrop(stop.clone());
        let internal = |e: tokio::sync::AcquireError| ApiError::from(Error::Internal(e.to_string()));
        let heavy = match cost {
            Cost::Light => None,
            Cost::Heavy => Some(
                tokio::time::timeout_at(until, self.heavy.clone().acquire_owned())
                    .await
                    .map_err(|_| deadline_exceeded(true))?
                    .map_err(internal)?,
            ),
        };
        let permit = tokio::time::timeout_at(until, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| deadline_exceeded(true))?
            .map_err(internal)?;
        let inner = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            background_priority();
            let out = f(&inner);
            drop((permit, heavy)); // the next request starts as soon as this one's numbers are ready
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
        let e = work.run(Cost::Heavy, endless(stopped.clone())).await.unwrap_err();
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
            running.push(tokio::spawn(async move { w.run(Cost::Light, endless(s)).await }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(work.slots.available_permits(), 0);
        let (w, late) = (work.clone(), started_late.clone());
        let waiting = tokio::spawn(async move {
            w.run(Cost::Light, move |_| {
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

    /// Heavy work takes at most one turn per core, so turns stay free for light work.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heavy_work_leaves_turns_for_light_work() {
        let work = Arc::new(Work::new(Duration::from_secs(60)));
        let (turns, heavy) = (work.slots.available_permits(), work.heavy.available_permits());
        assert_eq!(turns, 2 * heavy);
        let stopped: Vec<Arc<AtomicBool>> = (0..turns).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let tasks: Vec<_> = stopped
            .iter()
            .map(|s| {
                let (w, s) = (work.clone(), s.clone());
                tokio::spawn(async move { w.run(Cost::Heavy, endless(s)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // only `heavy` of them run; light work still gets a turn at once
        assert_eq!(work.slots.available_permits(), turns - heavy);
        let t0 = Instant::now();
        work.run(Cost::Light, |_| Ok(())).await.unwrap();
        assert!(t0.elapsed() < Duration::from_secs(5));
        for t in &tasks {
            t.abort();
        }
        for s in &stopped[..heavy] {
            wait_for(s).await;
        }
    }
}
