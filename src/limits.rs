//! Every size that comes from input has a limit, checked before anything is allocated or looped
//! over; the error names the field. The limits are generous for real work (an experiment has a
//! handful of arms, a metric tree a dozen nodes) and small enough that no single request, spec or
//! file can take the process down. The service adds its own, tighter per-request budgets on top
//! (`server::config`), because there the caller may be anyone.
//!
//! | what | limit | where it is checked |
//! |---|---|---|
//! | variants of an experiment, `n_variants` of bucket ranges, arms of a plan or an SRM check | [`MAX_VARIANTS`] | spec, `bucket_ranges`, `check_srm`, power |
//! | experiments / holdouts / metrics of one spec | [`MAX_EXPERIMENTS`] / [`MAX_HOLDOUTS`] / [`MAX_METRICS`] | spec |
//! | nodes of a forecast's metric tree (and so its changed nodes) | [`MAX_FORECAST_NODES`] | forecast |
//! | Monte Carlo draws of a forecast | [`MAX_DRAWS`] | forecast |
//! | draws × changed nodes of one forecast | [`MAX_FORECAST_WORK`] | forecast |
//! | past effects of a forecast's history | [`MAX_PAST_EFFECTS`] | forecast |
//! | length of a name (node, experiment key, variant, catalogue name) | [`MAX_NAME_CHARS`] | spec, forecast, catalogue |
//! | id types / identity tables / fact sources / metrics of a `[catalog]` | [`MAX_ID_TYPES`] / [`MAX_IDENTITIES`] / [`MAX_FACTS`] / [`MAX_METRICS`] | catalogue |
//! | dimensions of the exposures, filters of an aggregate, values of an `in` filter | [`MAX_DIMENSIONS`] / [`MAX_FILTERS`] / [`MAX_IN_VALUES`] | catalogue |
//! | characters of a source's `SELECT`; days of a window or lookback | [`MAX_SQL_CHARS`]; [`MAX_WINDOW_DAYS`] | catalogue |
//! | rows / columns of an engine's answer (`liftlab analyze --stats`) | [`MAX_STATS_ROWS`] / [`MAX_STATS_COLUMNS`] | warehouse, CLI |

use crate::error::{Error, Result};

/// Variants of one experiment (control included); also the most `n_variants` of
/// `bucket_ranges`, weights of an SRM check and arms of a sample-size plan. GrowthBook sets no
/// limit; a test with more than a hundred arms cannot be powered on any real traffic.
pub const MAX_VARIANTS: usize = 100;

/// Experiments in one spec.
pub const MAX_EXPERIMENTS: usize = 1_000;

/// Holdouts in one spec.
pub const MAX_HOLDOUTS: usize = 100;

/// Metrics in one spec.
pub const MAX_METRICS: usize = 500;

/// Nodes of a forecast's metric tree.
pub const MAX_FORECAST_NODES: usize = 64;

/// Monte Carlo draws of one forecast (the default is 100,000).
pub const MAX_DRAWS: usize = 10_000_000;

/// Draws × changed nodes of one forecast: 10,000,000 draws of one node, or 100,000 draws of 64
/// nodes (about 50 ms of one core per 10 million).
pub const MAX_FORECAST_WORK: u64 = 64_000_000;

/// Past effects in a forecast's history.
pub const MAX_PAST_EFFECTS: usize = 10_000;

/// Characters of a name: a node, an experiment key, a variant, a metric, a catalogue's table,
/// column or id type.
pub const MAX_NAME_CHARS: usize = 200;

/// Id types of a metric catalogue.
pub const MAX_ID_TYPES: usize = 64;

/// Identity tables of a metric catalogue.
pub const MAX_IDENTITIES: usize = 64;

/// Fact sources of a metric catalogue.
pub const MAX_FACTS: usize = 256;

/// Dimensions of a catalogue's exposure source (one grouping set each in the query).
pub const MAX_DIMENSIONS: usize = 32;

/// Row filters of one aggregate.
pub const MAX_FILTERS: usize = 64;

/// Values of one `in` / `not_in` filter.
pub const MAX_IN_VALUES: usize = 10_000;

/// Characters of a source's `SELECT`.
pub const MAX_SQL_CHARS: usize = 100_000;

/// Days of a window or lookback (100 years).
pub const MAX_WINDOW_DAYS: f64 = 36_500.0;

/// Rows of an engine's answer read back (one per variant and day or dimension value).
pub const MAX_STATS_ROWS: usize = 10_000_000;

/// Columns of an engine's answer read back.
pub const MAX_STATS_COLUMNS: usize = 100_000;

/// `Err` naming `field` when `len` is above `max`; `what` says what is counted ("variants").
pub fn check_len(field: impl Into<crate::error::FieldPath>, len: usize, max: usize, what: &str) -> Result<()> {
    if len > max {
        return Err(Error::invalid(field, format!("has {len} {what}; at most {max} are allowed")));
    }
    Ok(())
}

/// `Err` naming `field` when `name` is longer than [`MAX_NAME_CHARS`] characters.
pub fn check_name(field: impl Into<crate::error::FieldPath>, name: &str) -> Result<()> {
    // bytes first: a name of fewer bytes than the limit has fewer characters too
    if name.len() > MAX_NAME_CHARS && name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(field, format!("is longer than {MAX_NAME_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field_and_the_bound() {
        assert!(check_len("n_variants", MAX_VARIANTS, MAX_VARIANTS, "variants").is_ok());
        let e = check_len("n_variants", MAX_VARIANTS + 1, MAX_VARIANTS, "variants").unwrap_err();
        assert_eq!(e.field(), Some("n_variants"));
        assert_eq!(e.to_string(), "n_variants: has 101 variants; at most 100 are allowed");
        assert!(check_name("key", &"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(check_name("key", &"a".repeat(MAX_NAME_CHARS + 1)).unwrap_err().field(), Some("key"));
    }
}
