//! Forecasts: `cargo bench --bench forecast` (results in bench/RESULTS.md).
//!
//! * `example_100k`: examples/forecast.toml (four nodes, one changed; plan and history) with
//!   100,000 Monte Carlo draws, through `forecast_impact` as the service runs it.
//! * `three_changes_100k`: a six-stage CRM funnel with three changed stages and dilution.
//! * `..._kept_draws`: the same from base draws kept from an earlier forecast of the same seed
//!   (`forecast_impact_with`), as the service answers a request that differs only in its funnel.

use criterion::{criterion_group, criterion_main, Criterion};
use liftlab::forecast::{forecast_impact, forecast_impact_with, BaseDraws, ForecastRequest};

fn example() -> ForecastRequest {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/forecast.toml")).unwrap();
    let mut req: ForecastRequest = toml::from_str(&text).unwrap();
    req.model.draws = 100_000;
    req
}

fn three_changes() -> ForecastRequest {
    let body = serde_json::json!({
        "model": {
            "nodes": [
                {"name": "list", "kind": "count", "baseline": 200000},
                {"name": "delivered", "kind": "rate", "baseline": 0.97},
                {"name": "interacted", "kind": "rate", "baseline": 0.08},
                {"name": "intent", "kind": "rate", "baseline": 0.15},
                {"name": "deal", "kind": "rate", "baseline": 0.2},
                {"name": "repurchase", "kind": "value", "baseline": 1.35}
            ],
            "changes": [
                {"node": "interacted", "low": 0.02, "likely": 0.08, "high": 0.15},
                {"node": "intent", "low": -0.02, "likely": 0.01, "high": 0.05},
                {"node": "deal", "low": 0.0, "likely": 0.03, "high": 0.06}
            ],
            "coverage": 0.7, "dilution": 0.25, "period_days": 7, "draws": 100000, "seed": 3
        },
        "plan": {"max_days": 28, "std_dev": 1.9}
    });
    serde_json::from_value(body).unwrap()
}

fn bench(c: &mut Criterion) {
    let (a, b) = (example(), three_changes());
    c.bench_function("example_100k", |bch| bch.iter(|| forecast_impact(std::hint::black_box(&a)).unwrap()));
    c.bench_function("three_changes_100k", |bch| bch.iter(|| forecast_impact(std::hint::black_box(&b)).unwrap()));
    for (name, req) in [("example_100k_kept_draws", &a), ("three_changes_100k_kept_draws", &b)] {
        let base = BaseDraws::new(req.model.seed, req.model.draws, req.model.changes.len());
        c.bench_function(name, |bch| {
            bch.iter(|| forecast_impact_with(std::hint::black_box(req), Some(&base)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
