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
