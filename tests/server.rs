//! The HTTP face, driven in-process with `tower::ServiceExt::oneshot` (no socket).

mod common;

use axum::http::StatusCode;
use common::service::assert_error;
use liftlab::server::{app, router_and_openapi, AppState, ServerConfig};
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789";

const SPEC: &str = r#"
[[experiments]]
key = "sms-reminder"
variants = ["control", "sms"]
"#;

fn state(tokens: &[&str], spec: Option<&str>) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        database: dir.path().join("t.db").to_str().unwrap().to_string(),
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
        body_limit_bytes: 64 * 1024,
        ..Default::default()
    };
    (AppState::new(config, spec.map(str::to_string)).unwrap(), dir)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.as_deref().map(|a| ("authorization", a)).into_iter().collect();
    common::service::call(app, method, uri, body, &headers).await
}

#[tokio::test]
async fn healthz_and_openapi_cover_every_route() {
    let (st, _d) = state(&[], Some(SPEC));
    let (router, doc) = router_and_openapi(st);
    let (s, v) = call(&router, "GET", "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["spec_version"], 1);
    let (s, api) = call(&router, "GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = api["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/v1/assign",
        "/v1/assign/batch",
        "/v1/hash",
        "/v1/bucket-ranges",
        "/v1/choose-variant",
        "/v1/in-namespace",
        "/v1/eval-condition",
        "/v1/spec",
        "/v1/analyze",
        "/v1/forecast",
    ] {
        assert!(paths.contains_key(p), "{p} missing from openapi.json");
    }
    // the forecast request documents its language and the two values it takes
    let schemas = &api["components"]["schemas"];
    let lang = &schemas["ForecastRequest"]["properties"]["language"];
    let lang = lang.get("$ref").and_then(|r| r.as_str()).map_or(lang, |r| &schemas[r.rsplit('/').next().unwrap()]);
    assert_eq!(lang["enum"], serde_json::json!(["en", "zh-CN"]), "{}", schemas["ForecastRequest"]);
    // the answer documents its display: named panels, each a list of labelled facts
    assert!(schemas["ForecastReport"]["properties"]["display"].is_object(), "{}", schemas["ForecastReport"]);
    let panels = &schemas["ForecastDisplay"]["properties"];
    assert!(["plan", "topline", "chance"].iter().all(|k| panels[k].is_object()), "{panels}");
    let fact = &schemas["Fact"]["properties"];
    assert!(["field", "label", "value", "note", "warn"].iter().all(|k| fact[k].is_object()), "{fact}");
    // Every documented path answers (not 404): the document and the router come from one list.
    for (path, item) in doc.paths.paths.iter() {
        let methods = serde_json::to_value(item).unwrap();
        for m in methods.as_object().unwrap().keys().filter(|k| ["get", "post", "put", "delete"].contains(&k.as_str()))
        {
            let (s, _) = call(&router, &m.to_uppercase(), path, (m != "get").then_some("{}"), None).await;
            assert_ne!(s, StatusCode::NOT_FOUND, "{m} {path}");
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        }
    }
    assert!(api["paths"]["/v1/spec"]["put"]["security"].is_array(), "write route documents its bearer auth");
}

#[tokio::test]
async fn assign_one_and_batch_agree() {
    let (st, _d) = state(&[], Some(SPEC));
    let app = app(st);
    let (s, one) = call(&app, "POST", "/v1/assign", Some(r#"{"unit_id": "+15550123"}"#), None).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    let a = &one["assignments"][0];
    assert_eq!(a["experiment"], "sms-reminder");
    assert_eq!(a["reason"], "assigned");
    let (s, batch) = call(
        &app,
        "POST",
        "/v1/assign/batch",
        Some(r#"{"ids": ["+15550123", "u2"], "experiment": "sms-reminder"}"#),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["variant"][0], a["variant"]);
    assert_eq!(batch["bucket"][0], a["bucket"]);
    assert_eq!(batch["reason"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_gets_4xx_with_field() {
    let (st, _d) = state(&[], Some(SPEC));
    let app = app(st);
    let cases: &[(&str, &str, StatusCode, &str, Option<&str>)] = &[
        ("/v1/assign", r#"{"unit_id": ""}"#, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("unit_id")),
        (
            "/v1/assign",
            r#"{"unit_id": "u", "experiment": "nope"}"#,
            StatusCode::NOT_FOUND,
            "not_found",
            Some("experiment"),
        ),
        ("/v1/assign", r#"{"unit_id": "u", "colour": 1}"#, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", None),
        ("/v1/assign", r#"{"attributes": {}}"#, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("unit_id")),
        ("/v1/assign", r#"{"unit_id": "u", "#, StatusCode::BAD_REQUEST, "malformed_request", None),
        (
            "/v1/assign",
            r#"{"unit_id": "u", "spec": "[[experiments]]\nkey='a'\nvariants=['c','t']\nweights=[0.5]"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("spec.experiments[0].weights"),
        ),
        (
            "/v1/assign",
            r#"{"unit_id": "u", "spec": {"experiments": [{"key": "a", "variants": ["c", "t"], "coverage": 2}]}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("spec.experiments[0].coverage"),
        ),
        (
            "/v1/assign/batch",
            r#"{"ids": ["a", ""]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("ids[1]"),
        ),
        (
            "/v1/assign/batch",
            r#"{"ids": ["a"], "attributes": [{}, {}]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("attributes"),
        ),
        (
            "/v1/hash",
            r#"{"seed": "a", "value": "b", "version": 3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("version"),
        ),
        (
            "/v1/bucket-ranges",
            r#"{"n_variants": 2, "weights": [0.7, 0.6]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("weights"),
        ),
        (
            "/v1/bucket-ranges",
            r#"{"n_variants": 2, "coverage": -1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("coverage"),
        ),
        (
            "/v1/bucket-ranges",
            r#"{"n_variants": "two"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("n_variants"),
        ),
        (
            "/v1/eval-condition",
            r#"{"condition": [1]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("condition"),
        ),
    ];
    for (uri, body, status, code, field) in cases {
        let (s, v) = call(&app, "POST", uri, Some(body), None).await;
        assert_eq!(s, *status, "{uri} {body}: {v}");
        assert_error(&v, code, *field);
    }
    // Over the body limit (64 KiB here): 413, same error shape, server still fine afterwards.
    let big = format!(r#"{{"ids": [{}]}}"#, vec!["\"xxxxxxxxxxxxxxxxxxxx\""; 5000].join(","));
    let (s, v) = call(&app, "POST", "/v1/assign/batch", Some(&big), None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&v, "payload_too_large", None);
    let (s, _) = call(&app, "GET", "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(&app, "GET", "/nowhere", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found", None);
}

#[tokio::test]
async fn no_spec_loaded_is_a_clear_error() {
    let (st, _d) = state(&[], None);
    let app = app(st);
    let (s, v) = call(&app, "POST", "/v1/assign", Some(r#"{"unit_id": "u"}"#), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&v, "invalid_input", Some("spec"));
    let (s, _) = call(&app, "GET", "/v1/spec", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_need_a_configured_token() {
    let body = json!({"toml": "[[experiments]]\nkey = \"new\"\nvariants = [\"a\", \"b\"]\n"}).to_string();
    // No token configured: every write is refused.
    let (st, _d) = state(&[], Some(SPEC));
    let app0 = app(st);
    let (s, v) = call(&app0, "PUT", "/v1/spec", Some(&body), Some(TOKEN)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(v["error"]["message"].as_str().unwrap().contains("--token"), "{v}");

    let (st, dir) = state(&[TOKEN], Some(SPEC));
    let db = dir.path().join("t.db");
    let app1 = app(st);
    let (s, _) = call(&app1, "PUT", "/v1/spec", Some(&body), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app1, "PUT", "/v1/spec", Some(&body), Some("wrong-token-0123456789")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(&app1, "PUT", "/v1/spec", Some(r#"{"toml": "[[experiments]]\nkey = 1"}"#), Some(TOKEN)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = call(&app1, "PUT", "/v1/spec", Some(&body), Some(TOKEN)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 2);
    let (_, v) = call(&app1, "POST", "/v1/assign", Some(r#"{"unit_id": "u"}"#), None).await;
    assert_eq!(v["assignments"][0]["experiment"], "new");
    drop(app1);

    // A restart reads the acknowledged spec back from SQLite.
    let config = ServerConfig { database: db.to_str().unwrap().into(), ..Default::default() };
    let app2 = app(AppState::new(config, None).unwrap());
    let (_, v) = call(&app2, "GET", "/v1/spec", None, None).await;
    assert_eq!(v["version"], 2);
    assert_eq!(v["experiments"][0], "new");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn body_strategy() -> impl Strategy<Value = String> {
        let json_value = prop_oneof![
            Just("null".to_string()),
            Just("\"\"".to_string()),
            Just("-1".to_string()),
            Just("1e400".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            "[a-z\"{}\\[\\]:,0-9. ]{0,20}",
        ];
        prop_oneof![
            "\\PC{0,60}",
            (
                prop::sample::select(vec![
                    "unit_id",
                    "ids",
                    "spec",
                    "attributes",
                    "experiment",
                    "seed",
                    "value",
                    "version",
                    "n_variants",
                    "coverage",
                    "weights",
                    "hash",
                    "ranges",
                    "condition",
                    "name",
                    "start",
                    "end",
                    "toml"
                ]),
                json_value.clone(),
                prop::sample::select(vec!["unit_id", "ids", "weights", "ranges", "condition"]),
                json_value
            )
                .prop_map(|(k1, v1, k2, v2)| format!("{{\"{k1}\": {v1}, \"{k2}\": {v2}}}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// No body, however broken, makes a route answer 5xx or anything but the error shape.
        #[test]
        fn no_input_makes_a_5xx(body in body_strategy(), route in prop::sample::select(vec![
            "/v1/assign", "/v1/assign/batch", "/v1/hash", "/v1/bucket-ranges", "/v1/choose-variant", "/v1/in-namespace", "/v1/eval-condition", "/v1/spec", "/v1/srm", "/v1/analyze", "/v1/forecast",
        ])) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (st, _d) = state(&[TOKEN], Some(SPEC));
                let app = app(st);
                let method = if route == "/v1/spec" { "PUT" } else { "POST" };
                let (s, v) = call(&app, method, route, Some(&body), Some(TOKEN)).await;
                prop_assert!(s.as_u16() < 500, "{route} {body:?} -> {s} {v}");
                if !s.is_success() {
                    prop_assert!(v["error"]["code"].is_string(), "{route} {body:?} -> {v}");
                }
                Ok(())
            })?;
        }
    }
}
