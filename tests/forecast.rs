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
    call("POST", "/v1/forecast", Some(body)).await
}

async fn call(method: &str, uri: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = liftlab::server::ServerConfig {
        database: dir.path().join("t.db").to_str().unwrap().to_string(),
        ..Default::default()
    };
    let app = liftlab::server::app(liftlab::server::AppState::new(config, None).unwrap());
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
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

/// The defaults live once, in the core: `GET /v1/forecast/defaults` serves them, and every answer
/// echoes the settings it was made with (a request without them gets the defaults), so that no
/// face restates a default (28 days, power 0.8, alpha 0.05, a 95% interval, 100,000 draws).
#[tokio::test]
async fn http_serves_the_defaults_and_every_answer_echoes_its_settings() {
    use liftlab::forecast::ForecastSettings;
    let (s, defaults) = call("GET", "/v1/forecast/defaults", None).await;
    assert_eq!(s, StatusCode::OK, "{defaults}");
    assert_eq!(defaults, serde_json::to_value(ForecastSettings::default()).unwrap());
    assert_eq!(
        (&defaults["max_days"], &defaults["power"], &defaults["alpha"], &defaults["confidence_level"]),
        (&json!(28.0), &json!(0.8), &json!(0.05), &json!(0.95))
    );
    // a bare request (a plan without settings) is answered with the defaults, and says so
    let bare = json!({"model": {"nodes": [{"name": "visits", "kind": "count", "baseline": 800},
                                          {"name": "conversion", "kind": "rate", "baseline": 0.1}],
                                "changes": [{"node": "conversion", "low": -0.02, "likely": 0.03, "high": 0.1}]},
                      "plan": {}});
    let (s, got) = post(&bare).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["settings"], defaults);
    assert_eq!(got["forecast"]["confidence_level"], defaults["confidence_level"]);
    assert_eq!(got["forecast"]["confidence"], defaults["confidence_level"], "the deprecated name, for one release");
    // a request's own settings are echoed as given
    let (_, got) = post(&serde_json::to_value(request()).unwrap()).await;
    assert_eq!(got["settings"]["reach"], 0.6);
    assert_eq!(got["settings"]["seed"], 1);
}

/// A request with the deprecated names (`coverage`, `confidence`) is answered as the same request
/// with the new ones (`reach`, `confidence_level`), at every door that reads a request.
#[tokio::test]
async fn deprecated_names_are_read_as_the_new_ones() {
    let new = serde_json::to_value(request()).unwrap();
    let mut old = new.clone();
    let m = old["model"].as_object_mut().unwrap();
    let (reach, level) = (m.remove("reach").unwrap(), m.remove("confidence_level").unwrap());
    m.insert("coverage".into(), reach);
    m.insert("confidence".into(), level);
    let (s, a) = post(&new).await;
    let (t, b) = post(&old).await;
    assert_eq!((s, t), (StatusCode::OK, StatusCode::OK), "{b}");
    assert_eq!(a, b);
    let parsed: ForecastRequest = serde_json::from_value(old).unwrap();
    assert_eq!(parsed, request());
    let toml_old = std::fs::read_to_string(example()).unwrap().replace("reach = 0.6", "coverage = 0.6");
    assert_eq!(liftlab::forecast::request_from_toml(&toml_old, "f.toml", None).unwrap(), request());
    // both names at once is an error naming the field
    let mut both = new.clone();
    both["model"]["coverage"] = json!(0.6);
    let (s, v) = post(&both).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

/// `charts=svg`: the answer carries the core's charts, drawn at the width asked for, the same as
/// the notebook display and `liftlab forecast --html` show.
#[tokio::test]
async fn http_charts_are_the_cores() {
    use liftlab::forecast::render;
    let req = request();
    let body = serde_json::to_value(&req).unwrap();
    let (s, got) = call("POST", "/v1/forecast?charts=svg&chart_width=390", Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let report = forecast_impact(&req).unwrap();
    let want = render::charts(&req, &report, 390).unwrap();
    assert_eq!(got["charts"], serde_json::to_value(&want).unwrap());
    assert!(want.lift.contains("width=\"390\"") && want.tornado.contains("answered"));
    let html = render::render_html(&req, &report).unwrap();
    let wide = render::charts(&req, &report, render::DEFAULT_WIDTH).unwrap();
    assert!(html.contains(&wide.lift) && html.contains(&wide.tornado) && html.contains(&wide.gain));
    // without the parameter, no charts; a bad one names itself
    let (_, plain) = post(&body).await;
    assert!(plain.get("charts").is_none());
    for (uri, field) in [
        ("/v1/forecast?charts=png", "charts"),
        ("/v1/forecast?charts=svg&chart_width=10", "chart_width"),
        ("/v1/forecast?chart_width=400", "chart_width"),
        ("/v1/forecast?charts=svg&chart_width=wide", "chart_width"),
        ("/v1/forecast?chart=svg", "chart"),
    ] {
        let (s, v) = call("POST", uri, Some(&body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert_eq!(v["error"]["code"], "invalid_input", "{v}");
    }
}

/// A query string that does not deserialize is answered as a body that does not: 422
/// `invalid_input` naming the parameter in `field` and `path`, whatever the route.
#[tokio::test]
async fn http_query_strings_name_the_parameter() {
    for (method, uri, field) in [
        ("GET", "/v1/forecasts?limit=many", "limit"),
        ("GET", "/v1/forecasts?before=-x", "before"),
        ("GET", "/v1/forecasts?colour=red", "colour"),
        ("GET", "/v1/forecasts/1?chart_width=x&charts=svg", "chart_width"),
        ("GET", "/v1/calibration?colour=red", "colour"),
    ] {
        let (s, v) = call(method, uri, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_eq!(v["error"]["code"], "invalid_input", "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert_eq!(v["error"]["path"], serde_json::json!([field]), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: ")), "{v}");
    }
    let (s, v) = call("GET", "/v1/forecasts?limit=5&team=a%20b", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
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
    // the deprecated name of a model field in place of the new one
    let old = |new: &str, old: &str, v: Value| {
        let mut b = base.clone();
        let m = b["model"].as_object_mut().unwrap();
        m.remove(new);
        m.insert(old.to_string(), v);
        b
    };
    let cases = [
        (with(&["model", "nodes", "1", "baseline"], json!(1.4)), "model.nodes[1].baseline"),
        (with(&["model", "nodes", "0", "baseline"], json!(0)), "model.nodes[0].baseline"),
        (with(&["model", "changes", "0", "low"], json!(0.5)), "model.changes[0]"),
        (with(&["model", "changes", "0", "node"], json!("checkout")), "model.changes[0].node"),
        (with(&["model", "nodes"], json!([])), "model.nodes"),
        (with(&["model", "reach"], json!(0)), "model.reach"),
        // the deprecated name is read, and its error names the field by its new name
        (old("reach", "coverage", json!(0)), "model.reach"),
        (old("confidence_level", "confidence", json!(1.5)), "model.confidence_level"),
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
    // --html writes the core's page: the notebook display's tables and charts
    let html = dir.path().join("f.html");
    assert_eq!(cli(&["forecast", "--spec", &example(), "--html", html.to_str().unwrap()]), 0);
    let req = request();
    let want = liftlab::forecast::render::render_page(&req, &forecast_impact(&req).unwrap()).unwrap();
    assert_eq!(std::fs::read_to_string(&html).unwrap(), want);
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
