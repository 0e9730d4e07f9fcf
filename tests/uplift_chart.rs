//! The uplift charts are drawn once, by the core (`report::uplift_chart`); every face shows the
//! same bytes. The golden SVGs in tests/fixtures/uplift_chart/ are the core's drawing of
//! `inputs.json` (Qini and uplift charts of two rankings, `model` and `noise`, the perfect curve
//! included); tests/python/test_uplift_doors.py checks that Python's `qini_plot` / `uplift_plot`
//! show exactly these. Regenerate after a deliberate change to the drawing with
//! `LIFTLAB_BLESS=1 cargo test --test uplift_chart` and review the diff.

use liftlab::report::uplift_chart::{uplift_chart, ChartOptions, CurveKind};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uplift_chart").join(name)
}

#[test]
fn the_core_draws_the_golden_charts() {
    let inputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("inputs.json")).unwrap()).unwrap();
    let floats = |k: &str| -> Vec<f64> { inputs[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    let (y, s, noise) = (floats("y_true"), floats("uplift"), floats("noise"));
    let t: Vec<u8> = floats("treatment").iter().map(|&v| v as u8).collect();
    for (kind, file) in [(CurveKind::Qini, "qini.svg"), (CurveKind::Uplift, "uplift.svg")] {
        let scores = [("model".to_string(), &s[..]), ("noise".to_string(), &noise[..])];
        let chart = uplift_chart(kind, &y, &t, &scores, &ChartOptions::default()).unwrap();
        if std::env::var_os("LIFTLAB_BLESS").is_some() {
            std::fs::write(fixture(file), &chart.svg).unwrap();
        }
        assert_eq!(chart.svg, std::fs::read_to_string(fixture(file)).unwrap(), "{file}");
    }
}
