//! The thread pools of the Python door's parallel work (the uplift forest's fit), safe across
//! `os.fork()`.
//!
//! A forked child holds a copy of the parent's memory but only the thread that called `fork`:
//! rayon's global pool, once started in the parent, looks alive in the child and has no threads,
//! so parallel work there waits forever (a `multiprocessing` worker started with the fork method
//! after a fit in the parent hung). The door therefore never uses rayon's global pool. It keeps
//! one default pool (one thread per core) with the id of the process that built it; a process
//! with another id, a forked child, builds its own and leaves the parent's alone (forgotten,
//! never dropped: its threads are not there to be told to stop). An explicit `n_jobs` gets a pool
//! of its own for the call, as it always did. This is what the tokenizers bindings do about the
//! same problem, except that they fall back to one thread where this builds a fresh pool.

use std::sync::{Arc, Mutex};

use rayon::ThreadPool;

use crate::error::{Error, Result};

/// The default pool and the process that built it.
static DEFAULT: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

fn build(threads: usize) -> Result<ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("liftlab-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("thread pool: {e}")))
}

/// The pool a call runs in: `n_jobs` threads of its own, or the process's default pool.
pub(crate) fn for_jobs(n_jobs: Option<usize>) -> Result<Arc<ThreadPool>> {
    match n_jobs {
        Some(n) => Ok(Arc::new(build(n)?)),
        None => default_pool(),
    }
}

/// The process's default pool (one thread per core), built again in a forked child.
fn default_pool() -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    // The lock is held only to read or replace the pointer, never while work runs.
    let mut slot = DEFAULT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, pool)) = slot.as_ref() {
        if *owner == pid {
            return Ok(Arc::clone(pool));
        }
    }
    let pool = Arc::new(build(0)?);
    if let Some((_, inherited)) = slot.replace((pid, Arc::clone(&pool))) {
        // the parent's pool, in a child: its threads did not come along, so dropping it would
        // signal threads that are not there; it is left as it is
        std::mem::forget(inherited);
    }
    Ok(pool)
}
