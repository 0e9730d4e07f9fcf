//! What `liftlab` prints is part of its contract: every case below runs the binary and compares
//! its exit code, stdout and stderr with a reviewed snapshot in tests/snapshots/
//! (`cli_snapshots__<name>.snap`; the file's `info` block lists the arguments it ran with).
//!
//! A change of output fails here on purpose. When the change is meant, re-accept and review:
//!
//! ```sh
//! INSTA_UPDATE=always cargo test --test cli_snapshots   # rewrites the .snap files
//! git diff tests/snapshots/                              # read every changed line: it is what users see
//! ```
//!
//! (or `cargo insta test --review` where cargo-insta is installed; CI needs neither: a snapshot
//! that differs fails the test, and a missing one is written as `.snap.new` and fails too.)
//!
//! The commands run in a temporary folder on relative paths; the folder's path and the crate's
//! version are masked (`[TMP]`, `[VERSION]`), so the snapshots are the same on every machine and
//! at every release. The data are made here by fixed formulas, never by a random draw.

mod common;

use common::cli::Workdir;
use insta_cmd::assert_cmd_snapshot;

/// Runs `liftlab args` in `w` and compares it with the snapshot `name`.
macro_rules! snap {
    ($w:expr, $name:literal, $args:expr) => {{
        let w: &Workdir = $w;
        let mut filters = w.filters();
        filters.push((regex_escape(env!("CARGO_PKG_VERSION")), "[VERSION]".into()));
        let filters: Vec<(&str, &str)> = filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => filters, prepend_module_to_snapshot => true }, {
            assert_cmd_snapshot!($name, w.command($args));
        });
    }};
}

fn regex_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

/// The README's call-script experiment with one binary metric and a guardrail-free spec.
const SPEC: &str =
    "[[experiments]]\nkey = \"call-script\"\nvariants = [\"control\", \"short-script\"]\ncoverage = 0.5\n\n\
[[metrics]]\nname = \"booked\"\nkind = \"binary\"\n";

/// The README's exposures and outcomes: 400 units alternating control / short-script, booked by a
/// fixed rule (30% in control, 60% in short-script); `skew` puts every third control unit in
/// short-script instead (a sample-ratio mismatch).
fn analysis_data(w: &Workdir, skew: bool) {
    let mut exposures = String::from("unit_id,variant\n");
    let mut outcomes = String::from("unit_id,booked\n");
    for i in 0..400u32 {
        let short = i % 2 == 1 || (skew && i % 6 == 0);
        exposures.push_str(&format!("{i},{}\n", if short { "short-script" } else { "control" }));
        outcomes.push_str(&format!("{i},{}\n", u8::from((i * 37) % 10 < 3 + 3 * (i % 2))));
    }
    w.write("exp.toml", SPEC).write("exposures.csv", exposures).write("outcomes.csv", outcomes);
}

const ANALYZE: &[&str] = &[
    "analyze",
    "--spec",
    "exp.toml",
    "--exposures",
    "exposures.csv",
    "--outcomes",
    "outcomes.csv",
    "-o",
    "report.json",
];

#[test]
fn help_and_version() {
    let w = Workdir::new();
    snap!(&w, "help", &["--help"]);
    snap!(&w, "version", &["--version"]);
    snap!(&w, "uplift_help", &["uplift", "--help"]);
    snap!(&w, "no_subcommand", &[]);
    snap!(&w, "unknown_subcommand", &["frobnicate"]);
}

#[test]
fn analyze() {
    let w = Workdir::new();
    analysis_data(&w, false);
    snap!(&w, "analyze_ok", ANALYZE);
    assert!(w.read("report.json").contains("\"experiment\": \"call-script\""));
    snap!(&w, "analyze_unknown_experiment", &with(ANALYZE, "--experiment", "no-such-test"));
    snap!(&w, "analyze_missing_file", &with(ANALYZE, "--outcomes", "missing.csv"));
    w.write("nan.csv", w.read("outcomes.csv").replacen("\n3,1\n", "\n3,NaN\n", 1));
    assert!(w.read("nan.csv").contains("\n3,NaN\n"));
    snap!(&w, "analyze_nan_cell", &with(ANALYZE, "--outcomes", "nan.csv"));
    w.write("weights.toml", SPEC.replace("coverage = 0.5", "weights = [0.7, 0.6]"));
    snap!(&w, "analyze_bad_weights", &with(ANALYZE, "--spec", "weights.toml"));
    snap!(&w, "analyze_bad_flag", &with(ANALYZE, "--frobnicate", "1"));
    snap!(&w, "analyze_no_output", &ANALYZE[..ANALYZE.len() - 2]);
}

#[test]
fn check() {
    let w = Workdir::new();
    analysis_data(&w, false);
    assert_eq!(w.run(ANALYZE).status.code(), Some(0));
    snap!(&w, "check_ok", &["check", "--report", "report.json", "--baseline", "report.json"]);
    // the same experiment on other outcomes: every effect moved
    w.write("baseline.json", w.read("report.json"));
    w.write("outcomes.csv", w.read("outcomes.csv").replace(",1\n", ",0\n").replacen("\n0,0\n", "\n0,1\n", 1));
    snap!(&w, "analyze_other_outcomes", ANALYZE);
    snap!(&w, "check_changed_from_baseline", &["check", "--report", "report.json", "--baseline", "baseline.json"]);
    // a sample-ratio mismatch is a regression without a baseline
    analysis_data(&w, true);
    snap!(&w, "analyze_srm", ANALYZE);
    snap!(&w, "check_srm", &["check", "--report", "report.json"]);
    snap!(&w, "check_missing_file", &["check", "--report", "missing.json"]);
    w.write("not-json.json", "{\"experiment\": ");
    snap!(&w, "check_not_json", &["check", "--report", "not-json.json"]);
    snap!(&w, "check_bad_tolerance", &["check", "--report", "baseline.json", "--rel-tol=-1"]);
}

#[test]
fn forecast() {
    let w = Workdir::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/forecast.toml");
    w.write("forecast.toml", std::fs::read(example).unwrap());
    snap!(&w, "forecast_summary", &["forecast", "--spec", "forecast.toml"]);
    snap!(&w, "forecast_summary_zh", &["forecast", "--spec", "forecast.toml", "--language", "zh-CN"]);
    snap!(&w, "forecast_bad_language", &["forecast", "--spec", "forecast.toml", "--language", "fr"]);
    snap!(&w, "forecast_missing_file", &["forecast", "--spec", "missing.toml"]);
    snap!(&w, "forecast_experiment_on_a_forecast_file", &["forecast", "--spec", "forecast.toml", "--experiment", "x"]);
    w.write("spec.toml", SPEC);
    snap!(&w, "forecast_unknown_experiment", &["forecast", "--spec", "spec.toml", "--experiment", "no-such-test"]);
    w.write("nan.toml", w.read("forecast.toml").replacen("baseline = ", "baseline = nan # ", 1));
    snap!(&w, "forecast_nan_value", &["forecast", "--spec", "nan.toml"]);
}

#[test]
fn assign() {
    let w = Workdir::new();
    w.write("exp.toml", SPEC.replace("coverage = 0.5", "coverage = 0.5\ncondition = { country = \"US\" }"))
        .write("units.csv", "id,country\nlead-1,US\nlead-2,CA\nlead-3,US\nlead-4,US\n");
    snap!(&w, "assign_ok", &["assign", "--spec", "exp.toml", "--units", "units.csv", "-o", "assignments.csv"]);
    insta::assert_snapshot!("assign_ok_file", w.read("assignments.csv"));
    let assign = |extra: &[&'static str]| {
        let mut v = vec!["assign", "--spec", "exp.toml", "--units", "units.csv", "-o", "out.csv"];
        v.extend_from_slice(extra);
        v
    };
    snap!(&w, "assign_unknown_experiment", &assign(&["--experiment", "no-such-test"]));
    snap!(&w, "assign_missing_file", &["assign", "--spec", "exp.toml", "--units", "missing.csv", "-o", "out.csv"]);
    snap!(&w, "assign_unknown_column", &assign(&["--unit-col", "lead"]));
    snap!(&w, "assign_bad_output_format", &["assign", "--spec", "exp.toml", "--units", "units.csv", "-o", "out.xlsx"]);
    w.write("weights.toml", SPEC.replace("coverage = 0.5", "weights = [0.7, 0.6]"));
    snap!(&w, "assign_bad_weights", &["assign", "--spec", "weights.toml", "--units", "units.csv", "-o", "out.csv"]);
    w.write("empty-id.csv", "id,country\nlead-1,US\n,CA\n");
    snap!(&w, "assign_empty_id", &["assign", "--spec", "exp.toml", "--units", "empty-id.csv", "-o", "out.csv"]);
    snap!(&w, "assign_bad_flag", &assign(&["--frobnicate"]));
    assert!(!w.join("out.csv").exists(), "nothing is written on an error");
}

/// A past campaign with random channels (none, sms, call), by fixed rules instead of the README's
/// awk draws: SMS works on recent customers, calls on big spenders; 1,200 customers.
fn campaign_csv() -> String {
    let mut out = String::from("id,recent,spend,channel,bought\n");
    for i in 0..1200u32 {
        let recent = i % 2;
        let spend = (i * 37) % 100;
        let channel = ["none", "sms", "call"][((i / 2) % 3) as usize];
        let lift = match channel {
            "sms" if recent == 1 => 15,
            "call" if spend > 50 => 20,
            _ => 0,
        };
        let bought = u8::from((i * 53) % 100 < 10 + lift);
        out.push_str(&format!("c{i},{recent},{spend},{channel},{bought}\n"));
    }
    out
}

const FIT: &[&str] = &[
    "uplift",
    "fit",
    "--data",
    "campaign.csv",
    "--unit-col",
    "id",
    "--treatment-col",
    "channel",
    "--control",
    "none",
    "--outcome-col",
    "bought",
    "--n-trees",
    "10",
    "--min-samples-leaf",
    "100",
    "-o",
    "model.json",
];

const PLAN: &[&str] = &[
    "uplift",
    "plan",
    "--scored",
    "scored.csv",
    "--uplift-cols",
    "call,sms",
    "--cost",
    "call=1.5,sms=0.05",
    "--value",
    "20",
    "--max-spend",
    "300",
    "-o",
    "contacts.csv",
];

/// `args` with `flag`'s value replaced (or the flag added), writing to `other` instead.
fn with(args: &[&'static str], flag: &'static str, value: &'static str) -> Vec<&'static str> {
    let mut v = args.to_vec();
    match v.iter().position(|a| *a == flag) {
        Some(k) => v[k + 1] = value,
        None => v.extend([flag, value]),
    }
    v
}

#[test]
fn uplift() {
    let w = Workdir::new();
    w.write("campaign.csv", campaign_csv());
    snap!(&w, "uplift_fit_ok", FIT);
    snap!(
        &w,
        "uplift_score_ok",
        &["uplift", "score", "--model", "model.json", "--data", "campaign.csv", "--unit-col", "id", "-o", "scored.csv"]
    );
    assert_eq!(w.read("scored.csv").lines().next(), Some("id,call,sms"));
    snap!(&w, "uplift_plan_ok", PLAN);
    insta::assert_snapshot!(
        "uplift_plan_ok_file_head",
        w.read("contacts.csv").lines().take(4).collect::<Vec<_>>().join("\n")
    );

    // errors: nothing is written
    let fit_other = with(FIT, "-o", "other.json");
    w.write("nan.csv", campaign_csv().replacen("c3,1,11,sms,0\n", "c3,1,11,sms,NaN\n", 1));
    assert!(w.read("nan.csv").contains("c3,1,11,sms,NaN"));
    snap!(&w, "uplift_fit_nan_outcome", &with(&fit_other, "--data", "nan.csv"));
    snap!(&w, "uplift_fit_missing_file", &with(&fit_other, "--data", "missing.csv"));
    snap!(&w, "uplift_fit_unknown_column", &with(&fit_other, "--treatment-col", "treated"));
    snap!(&w, "uplift_fit_unknown_control", &with(&fit_other, "--control", "nobody"));
    snap!(&w, "uplift_fit_bad_criterion", &with(&fit_other, "--criterion", "gini"));
    snap!(&w, "uplift_fit_bad_flag", &with(&fit_other, "--frobnicate", "1"));
    assert!(!w.join("other.json").exists());
    w.write("pool.csv", "id,recent\nc1,1\n");
    snap!(
        &w,
        "uplift_score_missing_feature",
        &["uplift", "score", "--model", "model.json", "--data", "pool.csv", "--unit-col", "id", "-o", "s.csv"]
    );
    snap!(
        &w,
        "uplift_score_not_a_model",
        &["uplift", "score", "--model", "campaign.csv", "--data", "pool.csv", "--unit-col", "id", "-o", "s.csv"]
    );
    snap!(&w, "uplift_plan_bad_cost", &with(&with(PLAN, "--cost", "call=-1,sms=0.05"), "-o", "c.csv"));
    snap!(
        &w,
        "uplift_plan_unknown_column",
        &with(&with(&with(PLAN, "--uplift-cols", "call,email"), "--cost", "call=1.5,email=0.05"), "-o", "c.csv")
    );
    assert!(!w.join("c.csv").exists() && !w.join("s.csv").exists());
}
