//! Statistics. Each method lives in its own file and works on plain slices.

pub mod srm;

pub use srm::{check_srm, SrmResult, SRM_ALPHA};
