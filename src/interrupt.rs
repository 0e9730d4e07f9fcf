//! A flag that stops long work from outside: the service raises it when a client leaves or a
//! request's deadline passes, and the long loops of the core (the forecast's Monte Carlo) look at
//! it between blocks and stop with [`Error::Cancelled`]. Looking costs one relaxed atomic load
//! per block of work; the core reads no clock and does no I/O.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Raised once, never lowered.
#[derive(Debug, Default)]
pub struct Interrupt(AtomicBool);

/// An interrupt nobody raises: for callers with no way to stop (the CLI, Python, tests).
pub static NEVER: Interrupt = Interrupt(AtomicBool::new(false));

impl Interrupt {
    /// A new, lowered flag.
    pub const fn new() -> Self {
        Interrupt(AtomicBool::new(false))
    }

    /// Asks the work to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`raise`](Self::raise) was called.
    #[inline]
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Error::Cancelled)` once raised.
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.is_raised() {
            return Err(Error::Cancelled("the work was stopped before it finished".into()));
        }
        Ok(())
    }
}
