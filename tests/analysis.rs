//! Experiment analysis end to end: the Hillstrom e-mail campaign through the CLI (CSV and
//! Parquet) and HTTP, against references computed independently with scipy / statsmodels
//! (`tests/fixtures/make_hillstrom_reference.py`, versions inside the JSON), plus the CI door
//! (`liftlab check`) and bad input at each door.

mod common;
#[path = "common/rng.rs"]
mod rng;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use liftlab::data::{write_table, Column, Table};
use liftlab::server::{app, AppState, ServerConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

fn spec_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hillstrom.toml").to_str().unwrap().to_string()
}

/// Hillstrom as exposures (unit_id, variant, zip_code, channel, first_seen) and outcomes
/// (unit_id, visit, conversion, spend, history), with the row number as unit id.
struct Hillstrom {
    exposures: Table,
    outcomes: Table,
}

fn hillstrom() -> Hillstrom {
    let path = common::shared_dir().join("data/hillstrom.csv");
    let mut rdr = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("{} is required for this test (set LIFTLAB_SHARED): {e}", path.display()));
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (seg, zip, chan) = (col("segment"), col("zip_code"), col("channel"));
    let nums = ["visit", "conversion", "spend", "history"].map(col);
    let mut ids = Vec::new();
    let mut cols: [Vec<Option<String>>; 4] = Default::default();
    let mut out: [Vec<Option<f64>>; 4] = Default::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        ids.push(Some(format!("c{i}")));
        cols[0].push(Some(rec[seg].to_string()));
        cols[1].push(Some(rec[zip].to_string()));
        cols[2].push(Some(rec[chan].to_string()));
        // a deterministic first-exposure date over two weeks, for the cumulative chart
        cols[3].push(Some(format!("2008-03-{:02}", 1 + i % 14)));
        for (k, &j) in nums.iter().enumerate() {
            out[k].push(Some(rec[j].parse().unwrap()));
        }
    }
    let [variant, zip_code, channel, first_seen] = cols;
    let [visit, conversion, spend, history] = out;
    Hillstrom {
        exposures: Table {
            columns: vec![
                ("unit_id".into(), Column::Text(ids.clone())),
                ("variant".into(), Column::Text(variant)),
                ("zip_code".into(), Column::Text(zip_code)),
                ("channel".into(), Column::Text(channel)),
                ("first_seen".into(), Column::Text(first_seen)),
            ],
        },
        outcomes: Table {
            columns: vec![
                ("unit_id".into(), Column::Text(ids)),
                ("visit".into(), Column::Float(visit)),
                ("conversion".into(), Column::Float(conversion)),
                ("spend".into(), Column::Float(spend)),
                ("history".into(), Column::Float(history)),
            ],
        },
    }
}

fn write_inputs(dir: &Path, ext: &str) -> (String, String) {
    let h = hillstrom();
    let e = dir.join(format!("exposures.{ext}")).to_str().unwrap().to_string();
    let o = dir.join(format!("outcomes.{ext}")).to_str().unwrap().to_string();
    write_table(&e, &h.exposures).unwrap();
    write_table(&o, &h.outcomes).unwrap();
    (e, o)
}

fn cli(args: &[&str]) -> i32 {
    let mut v = vec!["liftlab"];
    v.extend_from_slice(args);
    liftlab::cli::main_with(v)
}

fn analyze_files(dir: &Path, e: &str, o: &str) -> (PathBuf, Value) {
    let out = dir.join("report.json");
    let html = dir.join("report.html");
    let md = dir.join("report.md");
    let code = cli(&[
        "analyze",
        "--spec",
        &spec_path(),
        "--exposures",
        e,
        "--outcomes",
        o,
        "--time-col",
        "first_seen",
        "-o",
        out.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (out, v)
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!((a - b).abs() <= rel * b.abs().max(1e-300), "{what}: {a} vs reference {b} (rel tol {rel})");
}

fn effect<'a>(report: &'a Value, metric: &str, variant: &str) -> &'a Value {
    let m = report["metrics"].as_array().unwrap().iter().find(|m| m["name"] == metric).unwrap();
    m["effects"].as_array().unwrap().iter().find(|e| e["variant"] == variant).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Every number against its independent reference. Tolerances: 1e-9 relative where the
/// reference computes the same quantity in closed form (rates, Wald z, Welch t, the
/// linearised ratio variance, the OLS coefficient, which equals the CUPED effect exactly);
/// 1e-6 for p-values (special-function accuracy in the far tail); 1% for the CUPED standard
/// error against OLS HC2, which estimates the same variance slightly differently.
fn check_against_reference(report: &Value) {
    let r = common::fixture_json("hillstrom_reference.json");
    assert_eq!(report["srm"]["observed"], r["srm"]["observed"]);
    close(f(&report["srm"]["p_value"]), f(&r["srm"]["p_value"]), 1e-9, "SRM p");
    for variant in ["Mens E-Mail", "Womens E-Mail"] {
        let rv = &r[variant];
        for m in ["visit", "conversion"] {
            let e = effect(report, m, variant);
            let x = &rv[m];
            close(f(&e["abs_effect"]), f(&x["abs_effect"]), 1e-9, m);
            close(f(&e["statistic"]), f(&x["statistic"]), 1e-9, m);
            close(f(&e["p_value"]), f(&x["p_value"]), 1e-6, m);
            close(f(&e["ci_low"]), f(&x["ci_low"]), 1e-9, m);
            close(f(&e["ci_high"]), f(&x["ci_high"]), 1e-9, m);
        }
        let e = effect(report, "spend", variant);
        let x = &rv["spend"];
        for k in ["abs_effect", "statistic", "df", "ci_low", "ci_high"] {
            close(f(&e[k]), f(&x[k]), 1e-9, &format!("spend {k}"));
        }
        close(f(&e["p_value"]), f(&x["p_value"]), 1e-6, "spend p");
        let e = effect(report, "spend_cuped", variant);
        close(f(&e["abs_effect"]), f(&rv["spend_cuped"]["abs_effect"]), 1e-9, "CUPED effect = OLS coefficient");
        close(f(&e["std_err"]), f(&rv["spend_cuped"]["hc2_std_err"]), 0.01, "CUPED std err ~ OLS HC2");
        assert!(f(&e["variance_reduction"]) > 0.0);
        let e = effect(report, "spend_per_visit", variant);
        let x = &rv["spend_per_visit"];
        close(f(&e["abs_effect"]), f(&x["abs_effect"]), 1e-9, "ratio effect");
        close(f(&e["std_err"]), f(&x["std_err"]), 1e-9, "ratio std err");
        close(f(&e["p_value"]), f(&x["p_value"]), 1e-6, "ratio p");
        // segment zip_code = Urban, visit rates by direct count
        let seg = report["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["column"] == "zip_code" && s["value"] == "Urban")
            .unwrap();
        let visit = seg["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "visit").unwrap();
        let arm = |name: &str| visit["arms"].as_array().unwrap().iter().find(|a| a["variant"] == name).unwrap().clone();
        let x = &rv["segment_zip_code_urban_visit"];
        assert_eq!(arm(variant)["n"], x["n_variant"]);
        assert_eq!(arm("No E-Mail")["n"], x["n_control"]);
        close(f(&arm(variant)["estimate"]), f(&x["rate_variant"]), 1e-12, "segment rate");
    }
}

#[test]
fn hillstrom_csv_and_parquet_match_the_references() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for ext in ["csv", "parquet"] {
        let sub = dir.path().join(ext);
        std::fs::create_dir(&sub).unwrap();
        let (e, o) = write_inputs(&sub, ext);
        let (_, report) = analyze_files(&sub, &e, &o);
        check_against_reference(&report);
        assert_eq!(report["schema_version"], 1);
        assert_eq!(report["decision"]["verdict"], "ship");
        assert_eq!(report["timeline"].as_array().unwrap().len(), 14 * 5 * 2, "14 days x 5 metrics x 2 variants");
        let html = std::fs::read_to_string(sub.join("report.html")).unwrap();
        assert!(html.contains("<svg") && html.contains("Forest plot") && html.contains("Cumulative"));
        let md = std::fs::read_to_string(sub.join("report.md")).unwrap();
        assert!(md.contains("| spend_per_visit | Mens E-Mail |"), "{md}");
        reports.push(report);
    }
    // the two file formats give the same report
    let drifts = liftlab::report::check::diff_reports(&reports[0], &reports[1], &Default::default()).unwrap();
    assert!(drifts.is_empty(), "{drifts:?}");
}

#[test]
fn check_passes_drifts_and_guardrails() {
    let dir = tempfile::tempdir().unwrap();
    let (e, o) = write_inputs(dir.path(), "parquet");
    let (report, v) = analyze_files(dir.path(), &e, &o);
    let report = report.to_str().unwrap().to_string();
    let junit = dir.path().join("junit.xml");
    assert_eq!(cli(&["check", "--report", &report, "--baseline", &report, "--junit", junit.to_str().unwrap()]), 0);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\""), "{xml}");

    // a drifted number is a regression (exit 1) with the path in the JUnit failure
    let mut drifted = v.clone();
    let p = &mut drifted["metrics"][2]["effects"][0]["p_value"];
    *p = json!(f(p) * 1.5);
    let drifted_path = dir.path().join("drifted.json");
    std::fs::write(&drifted_path, drifted.to_string()).unwrap();
    let code = cli(&[
        "check",
        "--report",
        drifted_path.to_str().unwrap(),
        "--baseline",
        &report,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("metrics[spend].effects[Mens E-Mail].p_value"), "{xml}");
    // issue 17: readable, with the metric, the value, its baseline and the tolerance; and a
    // moved number is "changed", not a "regression found"
    // (the p-value is 1.164e-7 here: 4 significant digits in scientific notation below 0.001)
    let base_p = f(&v["metrics"][2]["effects"][0]["p_value"]);
    assert!(xml.contains("name=\"baseline: metric spend, variant Mens E-Mail: p_value\""), "{xml}");
    let shown = format!("value {:.3e}, baseline {base_p:.3e}, +50.0%; tolerance ±", base_p * 1.5);
    assert!(xml.contains(&shown), "{shown} in {xml}");
    let result = liftlab::report::check::check_report(&drifted, Some(&v), &Default::default()).unwrap();
    assert_eq!(result.verdict(), "changed");
    // ... unless the tolerance allows it
    let code = cli(&["check", "--report", drifted_path.to_str().unwrap(), "--baseline", &report, "--rel-tol", "0.5"]);
    assert_eq!(code, 0);

    // a guardrail: spend per visit may not drop by more than 0.01 (in $ per visit); its interval
    // is too wide to show that, so it is inconclusive, not violated; a huge margin passes and a
    // negative-direction guardrail on visits fails.
    let spec = std::fs::read_to_string(spec_path()).unwrap();
    let guarded = format!("{spec}\n[[metrics]]\nname = \"visit_guard\"\nkind = \"binary\"\ncolumn = \"visit\"\ndirection = \"decrease\"\nguardrail_margin = 0.01\n");
    let spec2 = dir.path().join("guarded.toml");
    std::fs::write(&spec2, guarded).unwrap();
    let out2 = dir.path().join("guarded.json");
    assert_eq!(
        cli(&[
            "analyze",
            "--spec",
            spec2.to_str().unwrap(),
            "--exposures",
            &e,
            "--outcomes",
            &o,
            "-o",
            out2.to_str().unwrap()
        ]),
        0
    );
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap();
    assert_eq!(effect(&g, "visit_guard", "Mens E-Mail")["guardrail"], "fail");
    assert_eq!(g["decision"]["verdict"], "do_not_ship", "{}", g["decision"]);
    assert_eq!(cli(&["check", "--report", out2.to_str().unwrap()]), 1);
}

#[test]
fn srm_makes_the_report_invalid_and_check_fail() {
    let spec = liftlab::spec::Spec::from_toml(&std::fs::read_to_string(spec_path()).unwrap()).unwrap();
    let arm =
        |n: u64, conv: f64| liftlab::stats::moments::SuffStats { n, sum_x: conv, sum_x2: conv, ..Default::default() };
    // 5% fewer units in one arm: p ~ 1e-19
    let cells = |k: usize| vec![vec![arm(10_000, 500.0), arm(9_000, 480.0), arm(10_000, 510.0)]; k];
    let data = liftlab::report::ExperimentData {
        exposures: vec![10_000, 9_000, 10_000],
        metrics: cells(5)
            .into_iter()
            .map(|mut c| {
                for a in c.iter_mut() {
                    a.sum_y = a.n as f64;
                    a.sum_y2 = a.n as f64;
                    a.sum_xy = a.sum_x;
                }
                c
            })
            .collect(),
        ..Default::default()
    };
    let r = liftlab::report::analyze_experiment(&spec, "hillstrom", &data).unwrap();
    assert!(r.srm.mismatch);
    assert_eq!(r.decision.verdict, liftlab::report::Verdict::Invalid);
    let md = liftlab::report::render::render_markdown(&r);
    assert!(md.find("Sample-ratio mismatch").unwrap() < md.find("| metric").unwrap(), "SRM is shown first");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    std::fs::write(&p, serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(cli(&["check", "--report", p.to_str().unwrap()]), 1);
}

#[test]
fn bad_input_is_a_clear_error_at_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let spec = spec_path();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "e.csv",
        "unit_id,variant,zip_code,channel\n1,No E-Mail,Urban,Web\n2,Mens E-Mail,Urban,Web\n3,Typo,Urban,Web\n",
    );
    write("o.csv", "unit_id,visit,conversion,spend,history\n1,1,0,0,10\n2,0,0,0,20\n");
    let run = |e: &str, o: &str| {
        cli(&["analyze", "--spec", &spec, "--exposures", &d(e), "--outcomes", &d(o), "-o", &d("r.json")])
    };
    assert_eq!(run("e.csv", "o.csv"), 2, "unknown variant");
    write("e2.csv", "unit_id,variant\n1,No E-Mail\n");
    assert_eq!(run("e2.csv", "o.csv"), 2, "missing segment column");
    write("e3.csv", "unit_id,variant,zip_code,channel\n1,No E-Mail,Urban,Web\n2,Mens E-Mail,Urban,Web\n");
    write("o3.csv", "unit_id,visit,conversion,spend,history\n1,1,0,,10\n2,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o3.csv"), 2, "null outcome");
    write("o4.csv", "unit_id,visit,conversion,spend,history\n1,1,0,0,10\n1,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o4.csv"), 2, "duplicate outcome rows");
    write("o5.csv", "unit_id,visit,conversion,spend,history\n1,1,0,abc,10\n");
    assert_eq!(run("e3.csv", "o5.csv"), 2, "text in a number column");
    write("o6.csv", "unit_id,visit,conversion,spend,history\n1,1,2,0,10\n2,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o6.csv"), 2, "a binary metric with a 2");
    write("o7.csv", "unit_id,visit,conversion,spend,history\n1,-1,0,0,10\n2,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o7.csv"), 2, "a negative count (visit: binary and spend_per_visit's denominator)");
    write("o8.csv", "unit_id,visit,conversion,spend,history\n1,1,0,inf,10\n2,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o8.csv"), 2, "an infinite value");
    write("o9.csv", "unit_id,visit,conversion,spend,history\n11,1,0,0,10\n12,0,0,0,20\n");
    assert_eq!(run("e3.csv", "o9.csv"), 2, "ids that match no exposed unit");
    assert_eq!(run("nope.csv", "o.csv"), 2, "missing file");
    assert_eq!(cli(&["check", "--report", &d("nope.json")]), 2);
    write("notreport.json", "{\"a\": 1}");
    assert_eq!(cli(&["check", "--report", &d("notreport.json")]), 2);
}

/// An arm with no units or a metric with no variance gets no test: the metric carries its error
/// and the decision is "keep running" with the reason, never a silent "do not ship". When no
/// metric at all can be analysed there is no report to read: it is an error (exit 2) naming each
/// metric's reason, not a 200 "keep running" (issue 12).
#[test]
fn untestable_metrics_keep_the_test_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let spec =
        "[[experiments]]\nkey = \"x\"\nvariants = [\"a\", \"b\"]\n[[metrics]]\nname = \"y\"\nkind = \"binary\"\n\
                [[metrics]]\nname = \"z\"\nkind = \"mean\"\n";
    std::fs::write(d("s.toml"), spec).unwrap();
    std::fs::write(d("s1.toml"), spec.split("[[metrics]]\nname = \"z\"").next().unwrap()).unwrap();
    std::fs::write(d("e.csv"), "unit_id,variant\n1,a\n2,b\n3,a\n4,b\n").unwrap();
    std::fs::write(d("o.csv"), "unit_id,y,z\n1,0,1.5\n2,0,2\n3,0,0.5\n4,0,3\n").unwrap();
    std::fs::write(d("e_empty.csv"), "unit_id,variant\n1,a\n3,a\n").unwrap();
    let args = |s: &str, e: &str| {
        ["analyze", "--spec", &d(s), "--exposures", &d(e), "--outcomes", &d("o.csv"), "-o", &d("r.json")]
            .map(str::to_string)
    };
    let run = |a: [String; 9]| cli(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // y has no variance: it gets no test, z does
    assert_eq!(run(args("s.toml", "e.csv")), 0);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(d("r.json")).unwrap()).unwrap();
    assert_eq!(r["decision"]["verdict"], "keep_running", "{}", r["decision"]);
    assert!(r["metrics"][0]["error"].as_str().is_some_and(|m| !m.is_empty()), "{}", r["metrics"][0]);
    assert!(r["metrics"][1]["error"].is_null(), "{}", r["metrics"][1]);
    assert!(r["decision"]["reasons"][0].as_str().unwrap().contains("no test possible"));
    // nothing can be analysed: every metric fails (no variance; an empty arm)
    for (s, e) in [("s1.toml", "e.csv"), ("s.toml", "e_empty.csv")] {
        let _ = std::fs::remove_file(d("r.json"));
        assert_eq!(run(args(s, e)), 2, "{s} {e}");
        assert!(!std::path::Path::new(&d("r.json")).exists(), "no report is written");
    }
}

#[test]
fn multiple_exposures_are_counted_and_excluded() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let spec = "[[experiments]]\nkey = \"x\"\nvariants = [\"a\", \"b\"]\n[[metrics]]\nname = \"y\"\nkind = \"mean\"\nmissing = \"zero\"\n";
    std::fs::write(d("s.toml"), spec).unwrap();
    // unit 3 is in both arms; unit 1 twice in the same arm; unit 6 has no outcome row (counts as 0)
    std::fs::write(d("e.csv"), "unit_id,variant\n1,a\n1,a\n2,a\n3,a\n3,b\n4,b\n5,b\n6,a\n").unwrap();
    std::fs::write(d("o.csv"), "unit_id,y\n1,1.0\n2,2.0\n3,100\n4,4.0\n5,6.0\n99,7.0\n").unwrap();
    assert_eq!(
        cli(&[
            "analyze",
            "--spec",
            &d("s.toml"),
            "--exposures",
            &d("e.csv"),
            "--outcomes",
            &d("o.csv"),
            "-o",
            &d("r.json")
        ]),
        0
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(d("r.json")).unwrap()).unwrap();
    assert_eq!(r["data"]["multiple_exposures"], 1);
    assert_eq!(r["data"]["exposures"], json!([3, 2]));
    assert_eq!(r["data"]["missing_outcomes"], 1);
    let arms = &r["metrics"][0]["arms"];
    assert_eq!(f(&arms[0]["estimate"]), 1.0, "(1 + 2 + 0) / 3");
    assert_eq!(f(&arms[1]["estimate"]), 5.0, "(4 + 6) / 2");
}

async fn post(app: &axum::Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn http_analyze_matches_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(spec_path()).unwrap();
    let config = ServerConfig {
        database: dir.path().join("t.db").to_str().unwrap().to_string(),
        body_limit_bytes: 64 << 20,
        ..Default::default()
    };
    let router = app(AppState::new(config, Some(spec.clone())).unwrap());
    let (e, o) = write_inputs(dir.path(), "csv");
    let (_, cli_report) = analyze_files(dir.path(), &e, &o);

    // sufficient statistics computed by the same aggregation the CLI uses
    let parsed = liftlab::spec::Spec::from_toml(&spec).unwrap();
    let ex = liftlab::data::read_exposures(
        &e,
        "unit_id",
        "variant",
        Some("first_seen"),
        &parsed.experiments[0].analysis.segments,
    )
    .unwrap();
    let cols: Vec<&str> = parsed.metrics.iter().flat_map(|m| m.columns()).collect();
    let oc = liftlab::data::read_outcomes(&o, "unit_id", &cols).unwrap();
    let data = liftlab::report::aggregate_experiment(&parsed, "hillstrom", &ex, &oc).unwrap();
    let (s, v) = post(&router, "/v1/analyze", &json!({"data": data})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let drifts = liftlab::report::check::diff_reports(&cli_report, &v, &Default::default()).unwrap();
    assert!(drifts.is_empty(), "{drifts:?}");
    check_against_reference(&v);

    // small raw arrays
    let raw = json!({"raw": {
        "exposures": {"unit": [1, 2, 3, 4, 5, 6], "variant": ["No E-Mail", "Mens E-Mail", "Womens E-Mail", "No E-Mail", "Mens E-Mail", "Womens E-Mail"],
                      "segments": {"zip_code": ["a", "a", "a", "b", "b", "b"], "channel": ["w", "w", "w", "w", "w", "w"]}},
        "outcomes": {"unit": [1, 2, 3, 4, 5, 6], "columns": {"visit": [1, 0, 1, 0, 1, 1], "conversion": [0, 0, 1, 0, 1, 0],
                     "spend": [0, 0, 5, 0, 3, 0], "history": [10, 20, 30, 40, 50, 60]}}}});
    let (s, v) = post(&router, "/v1/analyze", &raw).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["exposures"], json!([2, 2, 2]));

    // bad input: 422 naming the field, never 500
    let bad = [
        (json!({}), "data"),
        (json!({"data": {"exposures": [1, 2], "metrics": []}}), "exposures"),
        (
            json!({"raw": {"exposures": {"unit": [1], "variant": ["nope"]}, "outcomes": {"unit": [1], "columns": {}}}}),
            "raw.exposures.variant[0]",
        ),
        (json!({"experiment": "missing", "data": data}), "experiment"),
    ];
    for (body, field) in bad {
        let (s, v) = post(&router, "/v1/analyze", &body).await;
        assert!(s.is_client_error(), "{body}: {s} {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
}

/// Capping (winsorizing) a metric equals analysing data capped beforehand. Reference for the
/// quantile: numpy 2.x, `np.quantile([0, 1, ..., 38, 1000], 0.9)` = 35.1 (linear interpolation).
#[test]
fn capping_equals_precapped_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let spec = |cap: &str| {
        format!("[[experiments]]\nkey = \"x\"\nvariants = [\"a\", \"b\"]\n[[metrics]]\nname = \"y\"\nkind = \"mean\"\n{cap}\n")
    };
    let mut e = String::from("unit_id,variant\n");
    let mut o = String::from("unit_id,y\n");
    let raw: Vec<f64> = (0..40).map(|i| if i == 39 { 1000.0 } else { i as f64 }).collect();
    for (i, y) in raw.iter().enumerate() {
        e += &format!("{i},{}\n", if i % 2 == 0 { "a" } else { "b" });
        o += &format!("{i},{y}\n");
    }
    std::fs::write(d("e.csv"), e.clone()).unwrap();
    std::fs::write(d("o.csv"), o).unwrap();
    let run = |spec_text: &str, outcomes: &str| -> Value {
        std::fs::write(d("s.toml"), spec_text).unwrap();
        let args = [
            "analyze",
            "--spec",
            &d("s.toml"),
            "--exposures",
            &d("e.csv"),
            "--outcomes",
            &d(outcomes),
            "-o",
            &d("r.json"),
        ];
        assert_eq!(cli(&args), 0);
        serde_json::from_str(&std::fs::read_to_string(d("r.json")).unwrap()).unwrap()
    };
    for (cap_line, cap) in [("cap = { quantile = 0.9 }", 35.1), ("cap = { value = 20 }", 20.0)] {
        let capped = run(&spec(cap_line), "o.csv");
        assert!((capped["metrics"][0]["cap"].as_f64().unwrap() - cap).abs() < 1e-12, "{cap_line}");
        let mut o2 = String::from("unit_id,y\n");
        for (i, y) in raw.iter().enumerate() {
            o2 += &format!("{i},{}\n", y.min(cap));
        }
        std::fs::write(d("o2.csv"), o2).unwrap();
        let pre = run(&spec(""), "o2.csv");
        for k in ["abs_effect", "std_err", "p_value", "rel_effect"] {
            let (a, b) = (
                capped["metrics"][0]["effects"][0][k].as_f64().unwrap(),
                pre["metrics"][0]["effects"][0][k].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{cap_line} {k}: {a} vs {b}");
        }
    }
}

/// Issue 13, item 5 (precision with large offsets) at the HTTP door: sufficient statistics with
/// the `shift_*` fields a warehouse query fills (`SUM(x - k)`, `SUM((x - k)^2)` with a per-metric
/// constant `k`) are read, and mean what they say. Reference: scipy 1.17.1,
/// `scipy.stats.ttest_ind([2, 4, 6, 8], [1, 2, 3, 4], equal_var=False)` (the values minus 1e9;
/// a Welch test is shift-invariant): statistic 1.7320508075688774, p 0.15158050484530375, df
/// 4.411764705882353; std_err sqrt(25/12) = 1.4433756729740645. Tolerance 1e-9 relative (the
/// t quantile is Newton-polished, the p-value comes from statrs' incomplete beta).
#[tokio::test]
async fn http_analyze_accepts_shifted_sums() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r#"
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[[metrics]]
name = "amount"
kind = "mean"

[[metrics]]
name = "paid"
kind = "binary"
"#;
    let config = ServerConfig { database: dir.path().join("t.db").to_str().unwrap().to_string(), ..Default::default() };
    let router = app(AppState::new(config, Some(spec.to_string())).unwrap());
    // amounts 1e9 + [1, 2, 3, 4] and 1e9 + [2, 4, 6, 8]; paid [0, 1, 0, 1] and [1, 1, 0, 1]
    let shifted = json!({"data": {"exposures": [4, 4], "metrics": [
        [{"n": 4, "sum_x": 10.0, "sum_x2": 30.0, "shift_x": 1e9}, {"n": 4, "sum_x": 20.0, "sum_x2": 120.0, "shift_x": 1e9}],
        [{"n": 4, "sum_x": -2.0, "sum_x2": 2.0, "shift_x": 1.0}, {"n": 4, "sum_x": -1.0, "sum_x2": 1.0, "shift_x": 1.0}]]}});
    let (s, v) = post(&router, "/v1/analyze", &shifted).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let e = effect(&v, "amount", "treatment");
    close(f(&e["std_err"]), 1.4433756729740645, 1e-9, "std_err");
    close(f(&e["statistic"]), 1.7320508075688774, 1e-9, "statistic");
    close(f(&e["df"]), 4.411764705882353, 1e-9, "df");
    close(f(&e["p_value"]), 0.15158050484530375, 1e-9, "p_value");
    assert_eq!(f(&e["abs_effect"]), 2.5, "the difference keeps its digits");
    assert_eq!(f(&v["metrics"][0]["arms"][0]["estimate"]), 1e9 + 2.5);
    // the same units unshifted (binary) and as raw arrays give the same numbers
    let plain = json!({"data": {"exposures": [4, 4], "metrics": [
        shifted["data"]["metrics"][0].clone(),
        [{"n": 4, "sum_x": 2.0, "sum_x2": 2.0}, {"n": 4, "sum_x": 3.0, "sum_x2": 3.0}]]}});
    let raw = json!({"raw": {
        "exposures": {"unit": [1, 2, 3, 4, 5, 6, 7, 8], "variant": ["control", "control", "control", "control", "treatment", "treatment", "treatment", "treatment"]},
        "outcomes": {"unit": [1, 2, 3, 4, 5, 6, 7, 8], "columns": {
            "amount": [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0, 1e9 + 2.0, 1e9 + 4.0, 1e9 + 6.0, 1e9 + 8.0],
            "paid": [0, 1, 0, 1, 1, 1, 0, 1]}}}});
    for other in [plain, raw] {
        let (s, w) = post(&router, "/v1/analyze", &other).await;
        assert_eq!(s, StatusCode::OK, "{w}");
        for metric in ["amount", "paid"] {
            for k in ["abs_effect", "std_err", "p_value", "rel_effect", "rel_ci_low", "rel_ci_high"] {
                let (a, b) = (f(&effect(&v, metric, "treatment")[k]), f(&effect(&w, metric, "treatment")[k]));
                close(a, b, 1e-12, &format!("{metric}.{k}"));
            }
        }
    }
    // a binary metric whose shifted sums are not of 0/1 values is named in the metric's error
    let mut bad = shifted.clone();
    bad["data"]["metrics"][1][1]["sum_x2"] = json!(3.0);
    let (s, w) = post(&router, "/v1/analyze", &bad).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let err = w["metrics"][1]["error"].as_str().unwrap();
    assert!(err.contains("arms[1].sum_x2") && err.contains("shift_x"), "{err}");
    // the shift fields are in the published schema
    let req = Request::builder().uri("/openapi.json").body(Body::empty()).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let api: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let resolve = |v: &Value| -> Value {
        match v["$ref"].as_str() {
            Some(r) => api["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
            None => v.clone(),
        }
    };
    let cells = resolve(&api["components"]["schemas"]["ExperimentData"]["properties"]["metrics"]);
    let props = &resolve(&resolve(&cells["items"])["items"])["properties"];
    for k in ["shift_x", "shift_y", "shift_c", "shift_d"] {
        assert_eq!(props[k]["type"], "number", "{k} missing from the schema of data.metrics[m][v]: {props}");
    }
}

/// Issue 13, item 8 (heavily skewed metrics) end to end: lognormal(σ = 2) spend, 600 units per
/// arm, through the aggregation and the report. The report says the metric is too skewed for its
/// size and names the remedy (in the JSON notes, the Markdown and the HTML); the metric with
/// `relative_interval = "log"` reports the ratio of geometric means with Welch's interval on
/// ln x, recomputed here by two passes over the log values (statrs' t quantile; the Python
/// door checks the same against scipy's ttest_ind). Tolerance 1e-9 relative.
#[test]
fn skewed_metric_report_says_so_and_offers_the_log_scale() {
    use liftlab::report::{aggregate_experiment, analyze_experiment, render, Codes, Exposures, Ids, Outcomes};
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let spec_text = r#"
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[[metrics]]
name = "spend"
kind = "mean"

[[metrics]]
name = "spend_log"
kind = "mean"
column = "spend"
relative_interval = "log"
"#;
    let spec = liftlab::spec::Spec::from_toml(spec_text).unwrap();
    let n = 1200usize;
    let mut r = rng::Rng::new(5);
    let arm: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let spend: Vec<f64> = arm.iter().map(|&a| (1.0 + 0.1 * a as f64) * (2.0 * r.normal()).exp()).collect();
    let tables = |spend: Vec<f64>, units: usize| {
        let e = Exposures {
            units: Ids::Int((0..n as i64).collect()),
            variants: Codes::from_values(arm.iter().map(|&a| Some(["control", "treatment"][a]))),
            days: None,
            segments: Vec::new(),
        };
        let o = Outcomes {
            units: Ids::Int((0..units as i64).collect()),
            columns: [("spend".to_string(), spend[..units].to_vec())].into_iter().collect(),
        };
        (e, o)
    };
    let (e, o) = tables(spend.clone(), n);
    let report = analyze_experiment(&spec, "e", &aggregate_experiment(&spec, "e", &e, &o).unwrap()).unwrap();
    for m in &report.metrics {
        let notes = &m.effects[0].notes;
        assert!(
            notes.iter().any(|t| t.starts_with("heavily skewed metric") && t.contains("cap")),
            "{}: {notes:?}",
            m.name
        );
        assert!(m.arms.iter().all(|a| a.skewness.unwrap() > 5.0), "{:?}", m.arms);
    }
    let md = render::render_markdown(&report);
    assert!(md.contains("**Notes**") && md.contains("spend · treatment: heavily skewed metric"), "{md}");
    assert!(render::render_html(&report).contains("<ul class=\"notes\"><li><b>spend · treatment</b>: heavily skewed"));

    // the log scale, recomputed: two passes over ln x per arm, Welch's t
    let logs = |a: usize| spend.iter().zip(&arm).filter(|(_, &b)| b == a).map(|(x, _)| x.ln()).collect::<Vec<_>>();
    let moments = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64, v.len() as f64)
    };
    let ((mc, vc, nc), (mt, vt, nt)) = (moments(&logs(0)), moments(&logs(1)));
    let (a, b) = (vt / nt, vc / nc);
    let df = (a + b).powi(2) / (a * a / (nt - 1.0) + b * b / (nc - 1.0));
    let q = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(0.975);
    let (d, se) = (mt - mc, (a + b).sqrt());
    let e = effect(&serde_json::to_value(&report).unwrap(), "spend_log", "treatment").clone();
    close(f(&e["rel_effect"]), d.exp() - 1.0, 1e-9, "rel_effect");
    // statrs' inverse t is a bisection good to ~1e-7 (the core polishes it): compare the bounds at that
    close(f(&e["rel_ci_low"]), (d - q * se).exp() - 1.0, 1e-6, "rel_ci_low");
    close(f(&e["rel_ci_high"]), (d + q * se).exp() - 1.0, 1e-6, "rel_ci_high");
    close(f(&e["log_std_err"]), se, 1e-9, "log_std_err");
    // the p-value and the absolute effect are the means' in both metrics
    let plain = effect(&serde_json::to_value(&report).unwrap(), "spend", "treatment").clone();
    assert_eq!(e["p_value"], plain["p_value"]);
    assert_eq!(e["abs_effect"], plain["abs_effect"]);

    // bad input names the field
    let bad = spec_text.replace(
        "name = \"spend\"\nkind = \"mean\"",
        "name = \"spend\"\nkind = \"binary\"\nrelative_interval = \"log\"",
    );
    assert_eq!(liftlab::spec::Spec::from_toml(&bad).unwrap_err().field(), Some("metrics[0].relative_interval"));
    let mut zero = spend.clone();
    zero[7] = 0.0;
    let (e, o) = tables(zero, n);
    let err = aggregate_experiment(&spec, "e", &e, &o).unwrap_err();
    assert_eq!(err.field(), Some("outcomes.spend[7]"), "{err}");
    let (e, o) = tables(spend.clone(), n - 3);
    let err = aggregate_experiment(&spec, "e", &e, &o).unwrap_err();
    assert_eq!(err.field(), Some("outcomes.spend"), "{err}");
    assert!(err.to_string().contains("missing = \"drop\""), "{err}");
}
