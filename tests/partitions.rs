//! Sufficient statistics are mergeable: aggregating partitions of the units separately and
//! merging them gives the aggregate of the whole (up to the order of floating-point sums), for
//! the metric cells, the segments and the cumulative timeline. Reference: the whole-table
//! aggregate computed in one pass (an exact slower computation of the same sums). Each
//! partition picks its own shift of the sums; merging re-expresses them (`SuffStats::reshift`).
//! Precision of merged partitions at large offsets is in `tests/stats_precision.rs`.

use std::collections::BTreeMap;

use liftlab::report::{aggregate_experiment, Codes, ExperimentData, Exposures, Ids, Outcomes};
use liftlab::spec::Spec;
use liftlab::stats::moments::SuffStats;
use proptest::prelude::*;

const SPEC: &str = r#"
[[experiments]]
key = "e"
variants = ["control", "a", "b"]
weights = [0.4, 0.3, 0.3]

[analysis]
segments = ["channel"]

[[metrics]]
name = "converted"
kind = "binary"

[[metrics]]
name = "revenue_per_order"
kind = "ratio"
column = "revenue"
denominator = "orders"
covariate = "pre"
covariate_denominator = "pre_orders"

[[metrics]]
name = "revenue"
kind = "mean"
covariate = "pre"
"#;

struct Unit {
    id: i64,
    variant: usize,
    day: i64,
    channel: Option<&'static str>,
    outcome: Option<[f64; 5]>,
}

fn tables(units: &[&Unit]) -> (Exposures, Outcomes) {
    let names = ["control", "a", "b"];
    let exposures = Exposures {
        units: Ids::Int(units.iter().map(|u| u.id).collect()),
        variants: Codes::from_values(units.iter().map(|u| Some(names[u.variant]))),
        days: Some(units.iter().map(|u| Some(u.day)).collect()),
        segments: vec![("channel".into(), Codes::from_values(units.iter().map(|u| u.channel)))],
    };
    let with: Vec<(&Unit, [f64; 5])> = units.iter().filter_map(|u| u.outcome.map(|o| (*u, o))).collect();
    let mut columns = BTreeMap::new();
    for (k, name) in ["converted", "revenue", "orders", "pre", "pre_orders"].iter().enumerate() {
        columns.insert(name.to_string(), with.iter().map(|(_, o)| o[k]).collect());
    }
    (exposures, Outcomes { units: Ids::Int(with.iter().map(|(u, _)| u.id).collect()), columns })
}

/// The same units: equal counts and, re-expressed in `a`'s shifts (each partition is
/// aggregated with its own), equal sums.
fn close(a: &SuffStats, b: &SuffStats) -> bool {
    let f = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
    let b = &b.reshift(a.shifts());
    a.n == b.n
        && f(a.sum_x, b.sum_x)
        && f(a.sum_x2, b.sum_x2)
        && f(a.sum_xy, b.sum_xy)
        && f(a.sum_y2, b.sum_y2)
        && f(a.sum_xc, b.sum_xc)
        && f(a.sum_cd, b.sum_cd)
        && f(a.sum_yd, b.sum_yd)
}

fn same_cells(a: &[Vec<SuffStats>], b: &[Vec<SuffStats>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close(p, q)))
}

fn unit_strategy() -> impl Strategy<Value = (usize, i64, u8, bool, [f64; 5])> {
    (0..3usize, 0..10i64, 0..4u8, any::<bool>(), [0.0..1.0f64, 0.0..100.0, 0.0..5.0, 0.0..80.0, 0.0..4.0])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn merged_partitions_equal_the_whole(
        raw in prop::collection::vec(unit_strategy(), 20..300),
        parts in 1..7usize,
        seed in any::<u64>(),
    ) {
        let spec = Spec::from_toml(SPEC).unwrap();
        let units: Vec<Unit> = raw
            .iter()
            .enumerate()
            .map(|(i, &(variant, day, ch, has, o))| Unit {
                id: i as i64,
                variant,
                day: 20_000 + day,
                channel: [Some("sms"), Some("email"), Some("push"), None][ch as usize],
                outcome: has.then_some([o[0].round(), o[1], o[2].round(), o[3], o[4].round()]),
            })
            .collect();
        let all: Vec<&Unit> = units.iter().collect();
        let (e, o) = tables(&all);
        let whole = aggregate_experiment(&spec, "e", &e, &o).unwrap();

        // split by unit into `parts` partitions (some may be empty and are skipped)
        let mut merged = ExperimentData::default();
        for p in 0..parts {
            let mine: Vec<&Unit> = units
                .iter()
                .filter(|u| (u.id as u64).wrapping_mul(seed | 1).rotate_left(17) % parts as u64 == p as u64)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let (e, o) = tables(&mine);
            merged.merge(&aggregate_experiment(&spec, "e", &e, &o).unwrap()).unwrap();
        }
        prop_assert_eq!(&merged.exposures, &whole.exposures);
        prop_assert_eq!(merged.missing_outcomes, whole.missing_outcomes);
        prop_assert!(same_cells(&merged.metrics, &whole.metrics));
        prop_assert_eq!(
            merged.segments["channel"].keys().collect::<Vec<_>>(),
            whole.segments["channel"].keys().collect::<Vec<_>>()
        );
        for (k, cells) in &whole.segments["channel"] {
            prop_assert!(same_cells(&merged.segments["channel"][k], cells), "segment {}", k);
        }
        prop_assert_eq!(merged.timeline.len(), whole.timeline.len());
        for ((d1, c1), (d2, c2)) in merged.timeline.iter().zip(&whole.timeline) {
            prop_assert_eq!(d1, d2);
            prop_assert!(same_cells(c1, c2), "timeline {}", d1);
        }
    }
}

#[test]
fn merging_mismatched_shapes_is_an_error() {
    let cell = SuffStats { n: 3, sum_x: 1.0, sum_x2: 1.0, ..Default::default() };
    let mut a = ExperimentData { exposures: vec![3, 3], metrics: vec![vec![cell, cell]], ..Default::default() };
    let b = ExperimentData { exposures: vec![3, 3, 3], metrics: vec![vec![cell, cell, cell]], ..Default::default() };
    assert_eq!(a.merge(&b).unwrap_err().code(), "invalid_input");
    let c = ExperimentData {
        exposures: vec![3, 3],
        metrics: vec![vec![cell, cell]],
        caps: vec![Some(5.0)],
        ..Default::default()
    };
    assert!(a.merge(&c).is_err());
    let d = ExperimentData { exposures: vec![1, 2], metrics: vec![vec![cell, cell]], ..Default::default() };
    a.merge(&d).unwrap();
    assert_eq!(a.exposures, vec![4, 5]);
    assert_eq!(a.metrics[0][0].n, 6);
}
