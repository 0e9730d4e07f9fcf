//! Batch assignment throughput: `cargo bench --bench assign` (results in bench/RESULTS.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use liftlab::assign::assign_batch;
use liftlab::spec::Spec;

const PLAIN: &str = "[[experiments]]\nkey = \"sms-reminder\"\nvariants = [\"control\", \"sms\"]\n";

const LAYERED: &str = r#"
[[holdouts]]
key = "h2"
share = 0.05

[[experiments]]
key = "sms-reminder"
variants = ["control", "sms", "call"]
weights = [0.4, 0.3, 0.3]
coverage = 0.8
layer = "outreach"
namespace_range = [0.0, 0.5]
exclude = ["+15550000001", "+15550000002"]

[[experiments]]
key = "other"
variants = ["control", "t"]
layer = "outreach"
namespace_range = [0.5, 1.0]
"#;

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let ids: Vec<String> = (0..n).map(|i| format!("+1555{i:07}")).collect();
    let mut g = c.benchmark_group("assign_batch");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    for (name, text) in [
        ("plain_v2", PLAIN.to_string()),
        ("plain_v1", format!("{PLAIN}hash_version = 1\n")),
        ("layer_holdout_exclusions", LAYERED.to_string()),
    ] {
        let spec = Spec::from_toml(&text).unwrap();
        g.bench_with_input(BenchmarkId::new(name, n), &ids, |b, ids| {
            b.iter(|| assign_batch(&spec, "sms-reminder", ids, None).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
