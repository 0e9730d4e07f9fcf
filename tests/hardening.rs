//! Issue 12: the service stands up to anyone. Each test here sends what an attacker or a careless
//! client sent and failed before: one request that took the process down, requests that could
//! starve it, writes that committed and still answered 500, an empty database setting, and error
//! answers that were not JSON.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::service::{app_with, assert_error, call, http, parse_response, Server, TOKEN};
use serde_json::{json, Value};

const SPEC: &str = "[[experiments]]\nkey = \"sms\"\nvariants = [\"control\", \"sms\"]\n\
                    [[metrics]]\nname = \"paid\"\nkind = \"binary\"\n";

fn funnel(nodes: usize, draws: u64) -> Value {
    let nodes: Vec<Value> = (0..nodes)
        .map(|i| {
            if i == 0 {
                json!({"name": "leads", "kind": "count", "baseline": 2000})
            } else {
                json!({"name": format!("n{i}"), "kind": "rate", "baseline": 0.9})
            }
        })
        .collect();
    json!({"model": {"nodes": nodes, "changes": [{"node": "leads", "low": 0.01, "likely": 0.03, "high": 0.06}], "draws": draws}})
}

/// Every payload that crashed, hung or answered 500 now answers a 4xx JSON error naming the field.
#[tokio::test]
async fn crash_payloads_get_a_clear_error() {
    let (app, _d) = app_with(Some(SPEC), |c| c.max_batch_rows = 10);
    let mut too_many_nodes = funnel(2, 100_000);
    too_many_nodes["model"]["nodes"] =
        json!((0..1000).map(|i| json!({"name": format!("n{i}"), "kind": "rate", "baseline": 0.5})).collect::<Vec<_>>());
    let mut extreme = funnel(2, 100_000);
    extreme["model"]["changes"] = json!([{"node": "leads", "low": -1, "likely": -1, "high": -1}]);
    let mut huge = funnel(2, 100_000);
    huge["model"]["nodes"][0]["baseline"] = json!(1e308);
    let mut tiny = funnel(2, 100_000);
    tiny["model"]["nodes"][0]["baseline"] = json!(1e-320);
    let no_metrics = json!({"spec": "[[experiments]]\nkey = \"x\"\nvariants = [\"a\", \"b\"]\n",
                            "data": {"exposures": [10, 10], "metrics": []}});
    let all_fail = json!({"data": {"exposures": [10, 10], "metrics": [[{"n": 10, "sum_x": 0, "sum_x2": 0}, {"n": 10, "sum_x": 0, "sum_x2": 0}]]}});
    let overflow = json!({"data": {"exposures": [9223372036854775808u64, 9223372036854775808u64],
                                   "metrics": [[{"n": 10, "sum_x": 1, "sum_x2": 1}, {"n": 10, "sum_x": 2, "sum_x2": 2}]]}});
    let ids: Vec<String> = (0..11).map(|i| format!("u{i}")).collect();
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        ("/v1/bucket-ranges", json!({"n_variants": 1_000_000_000_000u64}), 422, "invalid_input", Some("n_variants")),
        ("/v1/bucket-ranges", json!({"n_variants": 1u64 << 62}), 422, "invalid_input", Some("n_variants")),
        ("/v1/bucket-ranges", json!({"n_variants": 10_000_000}), 422, "invalid_input", Some("n_variants")),
        (
            "/v1/srm",
            json!({"observed": [1u64 << 63, 1u64 << 63], "weights": [0.5, 0.5]}),
            422,
            "invalid_input",
            Some("observed"),
        ),
        ("/v1/forecast", too_many_nodes, 422, "invalid_input", Some("model.nodes")),
        ("/v1/forecast", funnel(3, 10_000_000), 422, "invalid_input", Some("model.draws")),
        ("/v1/forecast", extreme, 422, "invalid_input", Some("model.changes[0].low")),
        ("/v1/forecast", huge, 422, "invalid_input", Some("model.nodes[0].baseline")),
        ("/v1/forecast", tiny, 422, "invalid_input", Some("model.nodes[0].baseline")),
        ("/v1/assign/batch", json!({"ids": ids}), 422, "invalid_input", Some("ids")),
        ("/v1/analyze", no_metrics, 422, "invalid_input", Some("metrics")),
        ("/v1/analyze", all_fail, 422, "insufficient_data", Some("metrics")),
        ("/v1/analyze", overflow, 422, "invalid_input", Some("exposures")),
    ];
    for (route, body, status, code, field) in cases {
        let (s, v) = call(&app, "POST", route, Some(&body.to_string()), &[]).await;
        assert_eq!(s.as_u16(), status, "{route} {body}: {v}");
        assert_error(&v, code, field);
    }
    // the service still answers
    let (s, _) = call(&app, "GET", "/healthz", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
}

/// A JSON array in place of an object was read field by field (`["seed","a",2]` answered 200);
/// now it is refused at any depth.
#[tokio::test]
async fn arrays_are_not_objects() {
    let (app, _d) = app_with(Some(SPEC), |_| {});
    let (s, v) = call(&app, "POST", "/v1/hash", Some(r#"["seed","a",2]"#), &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "invalid_input", None);
    let nested = r#"{"model": [[{"name": "n", "kind": "count", "baseline": 1}], []]}"#;
    let (s, v) = call(&app, "POST", "/v1/forecast", Some(nested), &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "invalid_input", Some("model"));
    let (s, v) = call(&app, "POST", "/v1/hash", Some(r#"{"seed": "seed", "value": "a", "version": 2}"#), &[]).await;
    assert_eq!((s, v["hash"].as_f64()), (StatusCode::OK, Some(0.0505)));
}

/// 400, 404, 405, 413, 414, 415 and 431 answers are JSON in the service's error shape.
#[tokio::test]
async fn every_error_answer_is_json() {
    let (app, _d) = app_with(Some(SPEC), |c| c.body_limit_bytes = 4096);
    let long_uri = format!("/v1/forecasts?team={}", "a".repeat(9000));
    let big_header = "x".repeat(40_000);
    let big_body = format!("{{\"seed\": \"{}\", \"value\": \"a\", \"version\": 2}}", "s".repeat(5000));
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("GET", "/v1/hash", None, vec![], 405, "method_not_allowed"),
        ("DELETE", "/v1/forecasts", None, vec![], 405, "method_not_allowed"),
        ("GET", "/nope", None, vec![], 404, "not_found"),
        ("GET", &long_uri, None, vec![], 414, "uri_too_long"),
        ("GET", "/healthz", None, vec![("x-big", &big_header)], 431, "headers_too_large"),
        ("POST", "/v1/hash", Some("{\"seed\": "), vec![], 400, "malformed_request"),
        ("POST", "/v1/hash", Some(""), vec![], 400, "malformed_request"),
        ("POST", "/v1/hash", Some(&big_body), vec![], 413, "payload_too_large"),
    ];
    for (method, uri, body, headers, status, code) in cases {
        let (s, v) = call(&app, method, uri, body, &headers).await;
        assert_eq!(s.as_u16(), status, "{method} {}: {v}", &uri[..uri.len().min(40)]);
        assert_error(&v, code, None);
    }
    // no content type
    let req = axum::http::Request::post("/v1/hash").body(axum::body::Body::from("{}")).unwrap();
    let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

fn save_body(title: &str, change: Value) -> Value {
    json!({"title": title, "author": "ana", "team": "crm", "metric": "deal",
           "request": {"model": {"nodes": [{"name": "leads", "kind": "count", "baseline": 2000},
                                           {"name": "deal", "kind": "rate", "baseline": 0.08}],
                                 "changes": [change]}}})
}

async fn ledger_size(app: &axum::Router) -> usize {
    let (s, v) = call(app, "GET", "/v1/forecasts?limit=500", None, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["forecasts"].as_array().unwrap().len()
}

/// A save that cannot be stored and read back answered 500 after committing, and the row
/// answered 500 forever; now it is a 422 and nothing is stored.
#[tokio::test]
async fn a_failed_ledger_write_stores_nothing() {
    let (app, _d) = app_with(None, |_| {});
    let auth = [("authorization", &*format!("Bearer {TOKEN}"))];
    let bad = [
        save_body("minus 100%", json!({"node": "deal", "low": -1, "likely": -1, "high": -1})),
        save_body("thousand-fold", json!({"node": "leads", "low": 0, "likely": 1, "high": 1e6})),
    ];
    let mut huge = save_body("huge", json!({"node": "deal", "low": 0.01, "likely": 0.02, "high": 0.03}));
    huge["request"]["model"]["nodes"][0]["baseline"] = json!(1e308);
    let mut tiny = huge.clone();
    tiny["request"]["model"]["nodes"][0]["baseline"] = json!(1e-320);
    for body in bad.iter().chain([&huge, &tiny]) {
        let (s, v) = call(&app, "POST", "/v1/forecasts", Some(&body.to_string()), &auth).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}: {v}", body["title"]);
        assert!(v["error"]["field"].as_str().unwrap().starts_with("request.model."), "{v}");
    }
    assert_eq!(ledger_size(&app).await, 0);
    // a good save, then a bad outcome: the outcome is refused and the forecast reads back
    let good = save_body("ok", json!({"node": "deal", "low": 0.01, "likely": 0.02, "high": 0.04}));
    let (s, v) = call(&app, "POST", "/v1/forecasts", Some(&good.to_string()), &auth).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) =
        call(&app, "POST", &format!("/v1/forecasts/{id}/outcome"), Some(r#"{"observed": {"relative": -1}}"#), &auth)
            .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = call(&app, "GET", &format!("/v1/forecasts/{id}"), None, &[]).await;
    assert_eq!((s, &v["outcome"]), (StatusCode::OK, &Value::Null), "{v}");
}

/// A retried write with the same `Idempotency-Key` is answered from the first one, not done
/// twice; the same key with a different request is refused.
#[tokio::test]
async fn idempotent_writes_are_done_once() {
    let (app, _d) = app_with(None, |_| {});
    let bearer = format!("Bearer {TOKEN}");
    let with_key = |k: &'static str| [("authorization", bearer.clone()), ("idempotency-key", k.to_string())];
    let body = save_body("retry me", json!({"node": "deal", "low": 0.01, "likely": 0.02, "high": 0.04})).to_string();
    let h = with_key("save-1");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s1, v1) = call(&app, "POST", "/v1/forecasts", Some(&body), &h).await;
    let (s2, v2) = call(&app, "POST", "/v1/forecasts", Some(&body), &h).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED), "{v1} {v2}");
    assert_eq!(v1, v2);
    assert_eq!(ledger_size(&app).await, 1);
    let other = save_body("other", json!({"node": "deal", "low": 0.0, "likely": 0.02, "high": 0.04})).to_string();
    let (s, v) = call(&app, "POST", "/v1/forecasts", Some(&other), &h).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "invalid_input", Some("Idempotency-Key"));
    assert_eq!(ledger_size(&app).await, 1);
    // outcomes too
    let id = v1["id"].as_i64().unwrap();
    let h = with_key("outcome-1");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let outcome = r#"{"observed": {"relative": 0.021, "low": 0.004, "high": 0.038}}"#;
    for _ in 0..3 {
        let (s, v) = call(&app, "POST", &format!("/v1/forecasts/{id}/outcome"), Some(outcome), &h).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, cal) = call(&app, "GET", "/v1/calibration", None, &[]).await;
    assert_eq!(cal["overall"]["reconciled"], 1, "{cal}");
    let (s, v) =
        call(&app, "POST", "/v1/forecasts", Some(&body), &[("authorization", &bearer), ("idempotency-key", "")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

/// With read tokens configured, the expensive reads need a token; cheap routes stay open, and a
/// read token does not write.
#[tokio::test]
async fn read_tokens_guard_the_expensive_routes() {
    const READ: &str = "read-token-0123456789";
    let (app, _d) = app_with(Some(SPEC), |c| c.read_tokens = vec![READ.into()]);
    let forecast = funnel(3, 10_000).to_string();
    let read = [("authorization", &*format!("Bearer {READ}"))];
    let write = [("authorization", &*format!("Bearer {TOKEN}"))];
    let (s, v) = call(&app, "POST", "/v1/forecast", Some(&forecast), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_error(&v, "unauthorized", None);
    for h in [&read, &write] {
        let (s, v) = call(&app, "POST", "/v1/forecast", Some(&forecast), h).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for uri in ["/v1/forecasts", "/v1/calibration", "/v1/forecasts/1"] {
        assert_eq!(call(&app, "GET", uri, None, &[]).await.0, StatusCode::UNAUTHORIZED, "{uri}");
    }
    assert_eq!(
        call(&app, "POST", "/v1/assign/batch", Some(r#"{"ids": ["a"]}"#), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(call(&app, "GET", "/healthz", None, &[]).await.0, StatusCode::OK);
    assert_eq!(call(&app, "POST", "/v1/assign", Some(r#"{"unit_id": "a"}"#), &[]).await.0, StatusCode::OK);
    let save = save_body("x", json!({"node": "deal", "low": 0.01, "likely": 0.02, "high": 0.04})).to_string();
    assert_eq!(call(&app, "POST", "/v1/forecasts", Some(&save), &read).await.0, StatusCode::UNAUTHORIZED);
}

/// Connections that never send their headers or body are closed; connections over the limit
/// get a JSON 503; the service keeps answering.
#[test]
fn slow_and_surplus_connections_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let env =
        [("LIFTLAB_HEADER_TIMEOUT_SECS", "1"), ("LIFTLAB_BODY_TIMEOUT_SECS", "1"), ("LIFTLAB_MAX_CONNECTIONS", "6")];
    let server = Server::start(&dir.path().join("t.db"), &["--token", TOKEN], &env);
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    // closed within about the timeout: silent, half a header, and headers without the body
    let t0 = Instant::now();
    let mut silent = connect();
    let mut half = connect();
    half.write_all(b"POST /v1/hash HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut no_body = connect();
    no_body
        .write_all(b"POST /v1/hash HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"seed\"")
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(silent.read_to_end(&mut buf).unwrap_or(0), 0, "silent connection closed without an answer");
    let _ = half.read_to_end(&mut buf);
    let mut answer = Vec::new();
    no_body.read_to_end(&mut answer).unwrap();
    let (status, v) = parse_response(&answer).unwrap();
    assert_eq!(status, 408, "{v}");
    assert_error(&v, "request_timeout", None);
    assert!(t0.elapsed() < Duration::from_secs(6), "cut off after {:?}", t0.elapsed());
    drop((silent, half, no_body));
    std::thread::sleep(Duration::from_millis(1500));
    // six open connections fill the service; the seventh is answered 503 in JSON
    let held: Vec<TcpStream> = (0..6).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut seventh = connect();
    let mut answer = Vec::new();
    seventh.read_to_end(&mut answer).unwrap();
    let (status, v) = parse_response(&answer).unwrap();
    assert_eq!(status, 503, "{v}");
    assert_error(&v, "overloaded", None);
    drop(held);
    // once they are closed (or timed out), the service answers again
    let t0 = Instant::now();
    while !matches!(http(server.port, "GET", "/healthz", None, &[]), Ok((200, _))) {
        assert!(t0.elapsed() < Duration::from_secs(10), "service did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `--database ""` or `LIFTLAB_DATABASE=` made SQLite use a temporary database: writes got 201 and
/// nothing survived a restart. Now the service refuses to start, with one line naming the field.
#[test]
fn an_empty_database_setting_is_refused() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = common::cli::command(&["serve"], dir.path());
        cmd.args(args).args(["--bind", "127.0.0.1:0"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    for out in
        [run(&["--database", ""], &[]), run(&[], &[("LIFTLAB_DATABASE", "")]), run(&["--database", ":memory:"], &[])]
    {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().rfind(|l| l.contains("database")).unwrap_or_default();
        assert!(line.contains("invalid_input") && line.contains("database"), "{err}");
    }
}

/// The crash payload through the CLI: exit 2 with one line, not an abort.
#[test]
fn cli_bucket_ranges_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::cli::liftlab(&["bucket-ranges", "--n-variants", "1000000000000"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("n_variants"), "{err}");
}

/// The crash payloads through the core itself (what the Python door and the CLI call): a clear
/// error naming the field, before anything is allocated.
#[test]
fn crash_payloads_through_the_core() {
    use liftlab::assign::bucket_ranges;
    use liftlab::forecast::{forecast_impact, ForecastRequest};
    for n in [1_000_000_000_000usize, 1 << 62, 10_000_000, usize::MAX] {
        assert_eq!(bucket_ranges(n, 1.0, None).unwrap_err().field(), Some("n_variants"), "{n}");
    }
    let e = liftlab::stats::check_srm(&[u64::MAX, u64::MAX], &[0.5, 0.5], 0.001).unwrap_err();
    assert_eq!(e.field(), Some("observed"));
    let mut big = funnel(2, 100_000);
    big["model"]["nodes"] = json!((0..100_000)
        .map(|i| json!({"name": format!("n{i}"), "kind": "rate", "baseline": 0.5}))
        .collect::<Vec<_>>());
    let req: ForecastRequest = serde_json::from_value(big).unwrap();
    assert_eq!(forecast_impact(&req).unwrap_err().field(), Some("model.nodes"));
    // 10,000,000 draws of 7 changed nodes: more than MAX_FORECAST_WORK node draws
    let mut work = funnel(8, 10_000_000);
    work["model"]["changes"] = json!((1..8)
        .map(|i| json!({"node": format!("n{i}"), "low": 0.0, "likely": 0.01, "high": 0.02}))
        .collect::<Vec<_>>());
    let req: ForecastRequest = serde_json::from_value(work).unwrap();
    assert_eq!(forecast_impact(&req).unwrap_err().field(), Some("model.draws"));
}
