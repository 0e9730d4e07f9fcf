//! # liftlab
//!
//! Experimentation and A/B-test analysis for growth, CRM and sales-operations teams: deterministic
//! assignment of units to variants (GrowthBook-compatible hashing, layers, holdouts, targeting),
//! with a Python extension, an HTTP service and a CLI over one Rust core.
//!
//! ## Quick start
//!
//! ```
//! use liftlab::{assign::assign_unit, spec::Spec};
//!
//! let spec = Spec::from_toml(r#"
//!     [[experiments]]
//!     key = "sms-reminder"
//!     variants = ["control", "sms"]
//!     weights = [0.5, 0.5]
//! "#)?;
//! let answers = assign_unit(&spec, "+15550123", None)?;
//! assert_eq!(answers[0].experiment, "sms-reminder");
//! assert!(answers[0].variant.is_some());
//! # Ok::<(), liftlab::Error>(())
//! ```
//!
//! The core modules ([`assign`], [`spec`], [`stats`], [`report`]) do no I/O and know nothing of
//! Python or HTTP; the faces (`server`, `cli`, `py`) and the file readers (`data`) are thin
//! adapters behind cargo features.

// `!(x > 0.0)` is how input checks reject NaN together with the out-of-range values; the lint's
// `partial_cmp` rewrite would hide that intent.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod assign;
pub mod error;
pub mod forecast;
pub mod interrupt;
pub mod limits;
pub mod report;
pub mod spec;
pub mod stats;
pub mod uplift;
pub mod warehouse;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod data;
#[cfg(feature = "python")]
mod py;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;

pub use error::{Detail, Error, FieldPath, Reason, Result, Segment};
