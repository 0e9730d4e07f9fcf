//! The forecast at its doors: `liftlab forecast` and `POST /v1/forecast` give the same numbers as
//! the core, and bad input is a clear error naming the field (HTTP 422, CLI exit 2). The numbers
//! themselves are checked against references in `src/forecast/tests.rs` and `history.rs`.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use liftlab::forecast::{forecast_impact, ForecastRequest};
use serde_json::{json, Value};
use tower::ServiceExt;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/forecast.toml").to_str().unwrap().to_string()
}

fn request() -> ForecastRequest {
    toml::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap()
}

async fn post(body: &Value) -> (StatusCode, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = liftlab::server::ServerConfig {
        database: dir.path().join("t.db").to_str().unwrap().to_string(),
        ..Default::default()
    };
    let app = liftlab::server::app(liftlab::server::AppState::new(config, None).unwrap());
    let req = Request::builder()
        .method("POST")
        .uri("/v1/forecast")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn http_returns_what_the_core_computes() {
    let req = request();
    let want = serde_json::to_value(forecast_impact(&req).unwrap()).unwrap();
    let (s, got) = post(&serde_json::to_value(&req).unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got, want);
    assert!(got["forecast"]["formula"].as_str().unwrap().contains("25,200"));
    assert!(got["plan"]["duration_days"].as_u64().unwrap() > 0);
    assert!(got["false_positive_risk"].as_f64().unwrap() > 0.0);
}

/// Requests that differ only in their funnel, with the default seed as a PM's page sends them:
/// from the second on the service answers from the seed's kept base draws, with what the core
/// computes afresh, number for number.
#[tokio::test]
async fn http_funnels_of_one_seed_equal_fresh_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let config = liftlab::server::ServerConfig {
        database: dir.path().join("t.db").to_str().unwrap().to_string(),
        ..Default::default()
    };
    let app = liftlab::server::app(liftlab::server::AppState::new(config, None).unwrap());
    for i in 0..4 {
        let mut req = request();
        req.model.seed = 0;
        req.model.nodes[1].baseline = 0.30 + 0.01 * i as f64;
        req.model.changes[0].likely = 0.05 + 0.005 * i as f64;
        let want = serde_json::to_value(forecast_impact(&req).unwrap()).unwrap();
        let http = Request::builder()
            .method("POST")
            .uri("/v1/forecast")
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_string(&req).unwrap()))
            .unwrap();
        let res = app.clone().oneshot(http).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/json");
        let got: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(got, want, "funnel {i}");
    }
}

#[tokio::test]
async fn http_bad_input_is_a_422_naming_the_field() {
    let base = serde_json::to_value(request()).unwrap();
    let with = |path: &[&str], v: Value| {
        let mut b = base.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = if let Ok(i) = p.parse::<usize>() { &mut at[i] } else { &mut at[*p] };
        }
        at[path[path.len() - 1]] = v;
        b
    };
    let cases = [
        (with(&["model", "nodes", "1", "baseline"], json!(1.4)), "model.nodes[1].baseline"),
        (with(&["model", "nodes", "0", "baseline"], json!(0)), "model.nodes[0].baseline"),
        (with(&["model", "changes", "0", "low"], json!(0.5)), "model.changes[0]"),
        (with(&["model", "changes", "0", "node"], json!("checkout")), "model.changes[0].node"),
        (with(&["model", "nodes"], json!([])), "model.nodes"),
        (with(&["model", "coverage"], json!(0)), "model.coverage"),
        (with(&["plan", "max_days"], json!(0)), "plan.max_days"),
    ];
    for (body, field) in cases {
        let (s, v) = post(&body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
}

fn cli(args: &[&str]) -> i32 {
    let mut v = vec!["liftlab"];
    v.extend_from_slice(args);
    liftlab::cli::main_with(v)
}

#[test]
fn cli_runs_the_example_and_rejects_bad_files() {
    assert_eq!(cli(&["forecast", "--spec", &example()]), 0);
    assert_eq!(cli(&["forecast", "--spec", &example(), "--json"]), 0);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(example()).unwrap().replace("baseline = 0.35", "baseline = 3.5");
    std::fs::write(&bad, text).unwrap();
    assert_eq!(cli(&["forecast", "--spec", bad.to_str().unwrap()]), 2);
    std::fs::write(&bad, "[model]\nnodes = 3\n").unwrap();
    assert_eq!(cli(&["forecast", "--spec", bad.to_str().unwrap()]), 2);
    assert_eq!(cli(&["forecast", "--spec", "missing.toml"]), 2);
}

/// The experiment spec carries forecasts too: `[[forecasts]]` tied to an experiment, whose arms
/// the test plan takes.
#[test]
fn experiment_spec_forecasts_take_the_experiments_arms() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/experiments.toml");
    let spec = liftlab::spec::Spec::from_toml(&std::fs::read_to_string(&spec_path).unwrap()).unwrap();
    let req = spec.forecast_request(Some("sms-reminder")).unwrap();
    assert_eq!(spec.forecast_request(None).unwrap(), req, "the only forecast");
    let plan = req.plan.as_ref().unwrap();
    assert_eq!((plan.design.variants, plan.design.ratio), (1, 1.0));
    let p = spec_path.to_str().unwrap();
    assert_eq!(cli(&["forecast", "--spec", p, "--experiment", "sms-reminder"]), 0);
    assert_eq!(cli(&["forecast", "--spec", p, "--experiment", "call-script"]), 2);
    assert_eq!(cli(&["forecast", "--spec", &example(), "--experiment", "sms-reminder"]), 2);

    let three_arms = r#"
[[experiments]]
key = "call-script"
variants = ["control", "short", "long"]
weights = [0.5, 0.25, 0.25]

[[forecasts]]
experiment = "call-script"
model = { nodes = [{ name = "leads", kind = "count", baseline = 900 }, { name = "booked", kind = "rate", baseline = 0.1 }],
          changes = [{ node = "booked", low = 0.0, likely = 0.1, high = 0.2 }] }
plan = { max_days = 28 }
"#;
    let spec = liftlab::spec::Spec::from_toml(three_arms).unwrap();
    let req = spec.forecast_request(Some("call-script")).unwrap();
    let d = req.plan.as_ref().unwrap().design;
    assert_eq!((d.variants, d.ratio), (2, 0.5));
    // the plan of two treatments at half the control's size, as the power functions compute it
    let plan = forecast_impact(&req).unwrap().plan.unwrap();
    assert!((plan.rel_effect - 0.1).abs() < 1e-15);
    let direct = liftlab::stats::power::sample_size(
        &liftlab::stats::power::Baseline::Proportion { rate: 0.1 },
        liftlab::stats::power::EffectSize::Relative(plan.rel_effect),
        &d,
    )
    .unwrap();
    assert_eq!(plan.sample_size, direct);
    // the Wald test's plan (issue 13, item 6; the pooled variance asked for 26,624 + 13,312)
    assert_eq!((direct.n_control, direct.n_per_variant), (27_013, 13_507));

    let bad = |text: &str, field: &str| {
        let e = liftlab::spec::Spec::from_toml(text).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    };
    bad(&three_arms.replace("experiment = \"call-script\"", "experiment = \"nope\""), "forecasts[0].experiment");
    bad(&three_arms.replace("baseline = 0.1 }", "baseline = 1.1 }"), "forecasts[0].model.nodes[1].baseline");
    bad(&three_arms.replace("node = \"booked\"", "node = \"sold\""), "forecasts[0].model.changes[0].node");
}
