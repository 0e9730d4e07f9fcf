//! The PM's page at `GET /`, driven in-process with `tower::ServiceExt::oneshot`: the page and its
//! assets come with the right content types, it has the forecast form, it loads nothing from
//! elsewhere, every element its script looks up exists, and the example it starts from is the
//! one in `examples/forecast.toml` and is accepted by `POST /v1/forecast`. The browser side is
//! driven end to end by `tests/python/test_web_page.py`.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use liftlab::forecast::ForecastRequest;
use liftlab::server::{app, AppState, ServerConfig};
use tower::ServiceExt;

fn router() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { database: dir.path().join("t.db").to_str().unwrap().to_string(), ..Default::default() };
    (app(AppState::new(config, None).unwrap()), dir)
}

/// Status, content type and body text of a request.
async fn fetch(app: &axum::Router, method: &str, uri: &str, body: Option<String>) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header(CONTENT_TYPE, "application/json");
    }
    let res = app.clone().oneshot(req.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
    let status = res.status();
    let ct = res.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn index_is_the_forecast_form() {
    let (app, _d) = router();
    let (s, ct, html) = fetch(&app, "GET", "/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct, "text/html; charset=utf-8");
    for needle in [
        "<!doctype html>",
        r#"<form id="forecast-form""#,
        r#"id="nodes""#,
        r#"id="changes""#,
        r#"id="reach""#,
        r#"<button type="submit" id="project""#,
        r#"id="save-form""#,
        r#"id="past-forecasts""#,
        r#"id="calibration""#,
        r#"<script src="/assets/app.js""#,
        r#"<link rel="stylesheet" href="/assets/style.css">"#,
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
}

#[tokio::test]
async fn assets_have_their_content_types() {
    let (app, _d) = router();
    for (uri, want, needle) in [
        ("/assets/app.js", "text/javascript; charset=utf-8", "/v1/forecast"),
        ("/assets/style.css", "text/css; charset=utf-8", ".card"),
        ("/assets/example.json", "application/json", "\"model\""),
    ] {
        let (s, ct, body) = fetch(&app, "GET", uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(ct, want, "{uri}");
        assert!(body.contains(needle), "{uri}: {needle} missing");
    }
    // a mistyped asset is the API's JSON 404, not the page
    let (s, ct, body) = fetch(&app, "GET", "/assets/missing.js", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(ct, "application/json");
    assert!(body.contains("not_found"), "{body}");
}

#[tokio::test]
async fn page_loads_nothing_from_elsewhere() {
    let (app, _d) = router();
    for uri in ["/", "/assets/app.js", "/assets/style.css"] {
        let (_, _, text) = fetch(&app, "GET", uri, None).await;
        // the one URL allowed is the SVG namespace, which names a vocabulary and is never fetched
        let rest = text.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !rest.contains("http://") && !rest.contains("https://") && !rest.contains("//cdn"),
            "{uri} names a URL"
        );
        assert!(!rest.contains("@import") && !rest.contains("url("), "{uri} imports a resource");
    }
}

#[tokio::test]
async fn every_element_the_script_looks_up_is_on_the_page() {
    let (app, _d) = router();
    let (_, _, html) = fetch(&app, "GET", "/", None).await;
    let (_, _, js) = fetch(&app, "GET", "/assets/app.js", None).await;
    let ids: BTreeSet<&str> = regex::Regex::new(r#"id="([\w-]+)""#)
        .unwrap()
        .captures_iter(&html)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let looked_up: BTreeSet<&str> = regex::Regex::new(r##"\$\("#([\w-]+)"##)
        .unwrap()
        .captures_iter(&js)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(looked_up.len() > 30, "the pattern found too few look-ups: {looked_up:?}");
    let missing: Vec<_> = looked_up.difference(&ids).collect();
    assert!(missing.is_empty(), "app.js looks up ids the page lacks: {missing:?}");
}

#[tokio::test]
async fn the_page_starts_from_the_documented_example() {
    let (app, _d) = router();
    let (_, _, body) = fetch(&app, "GET", "/assets/example.json", None).await;
    let served: ForecastRequest = serde_json::from_str(&body).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/forecast.toml");
    let want: ForecastRequest = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(served, want);
    let (s, _, report) = fetch(&app, "POST", "/v1/forecast", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{report}");
}
