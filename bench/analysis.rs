//! Analysis from sufficient statistics: `cargo bench --bench analysis` (results in bench/RESULTS.md).
//!
//! * `merge_1000_partitions`: 1,000 partitions (3 metrics x 3 variants, 2 segment columns of 5
//!   values, a 30-day timeline each) merged into one.
//! * `analyze_merged`: the full report (effects, CUPED, sequential, Bayesian, SRM, corrections,
//!   segments, timeline) from the merged statistics.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use liftlab::report::{analyze_experiment, Cells, ExperimentData};
use liftlab::spec::Spec;
use liftlab::stats::moments::SuffStats;

const SPEC: &str = r#"
[[experiments]]
key = "e"
variants = ["control", "a", "b"]

[analysis]
segments = ["channel", "region"]
sequential = "confidence_sequence"

[[metrics]]
name = "converted"
kind = "binary"

[[metrics]]
name = "revenue_per_order"
kind = "ratio"
column = "revenue"
denominator = "orders"

[[metrics]]
name = "revenue"
kind = "mean"
covariate = "pre"
"#;

/// Deterministic pseudo-random cells for partition `p`.
fn cells(p: usize, scale: u64) -> Cells {
    (0..3)
        .map(|m| {
            (0..3)
                .map(|v| {
                    let mut s = SuffStats::default();
                    for i in 0..8u64 {
                        let h = ((p as u64 * 31 + m * 7 + v * 3 + i) * 2654435761) % 1000;
                        let x = if m == 0 { (h % 2) as f64 } else { h as f64 / 10.0 };
                        let d = (h % 3 + 1) as f64;
                        let c = x * 0.8 + (h % 17) as f64;
                        s.push(x, d, c, 0.0);
                    }
                    for _ in 1..scale {
                        s += s;
                    }
                    s
                })
                .collect()
        })
        .collect()
}

fn partitions(k: usize) -> Vec<ExperimentData> {
    (0..k)
        .map(|p| {
            let mut segments = BTreeMap::new();
            for col in ["channel", "region"] {
                let values = (0..5).map(|i| (format!("{col}-{i}"), cells(p + i, 3))).collect();
                segments.insert(col.to_string(), values);
            }
            let timeline = (0..30).map(|d| (format!("2026-11-{:02}", d % 30 + 1), cells(p + d, 2))).collect();
            let metrics = cells(p, 4);
            ExperimentData {
                exposures: metrics[0].iter().map(|s| s.n).collect(),
                metrics,
                segments,
                timeline,
                ..Default::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let spec = Spec::from_toml(SPEC).unwrap();
    let parts = partitions(1000);
    let mut g = c.benchmark_group("sufficient_statistics");
    g.sample_size(20);
    g.bench_function("merge_1000_partitions", |b| {
        b.iter(|| {
            let mut all = ExperimentData::default();
            for p in &parts {
                all.merge(p).unwrap();
            }
            all
        })
    });
    let mut merged = ExperimentData::default();
    for p in &parts {
        merged.merge(p).unwrap();
    }
    g.bench_function("analyze_merged", |b| b.iter(|| analyze_experiment(&spec, "e", &merged).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
