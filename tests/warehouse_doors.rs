//! The warehouse at the CLI and HTTP doors: `liftlab sql` prints the reviewed snapshot,
//! `POST /v1/sql` returns it, `liftlab analyze --stats` reads an engine's answer as JSON, JSON
//! lines, CSV or Parquet-free text and writes the same report as the core; bad input is one line
//! (exit 2) or a 422 naming the field.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use liftlab::report::analyze_experiment;
use liftlab::server::{app, AppState, ServerConfig};
use liftlab::spec::Spec;
use liftlab::warehouse::{compile_sql, read_stats, CompileOptions, Dialect, StatsTable};
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;

use common::cli::liftlab;

fn snapshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql_snapshots")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn liftlab_sql_prints_the_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let spec = snapshots().join("telesales.toml");
    let spec = spec.to_str().unwrap();
    for (key, dialect, extra) in [
        ("call-script", "postgres", vec![]),
        ("sms-reminder", "bigquery", vec!["--start", "2025-03-01", "--end", "2025-05-31"]),
    ] {
        let mut args = vec!["sql", "--spec", spec, "--experiment", key, "--dialect", dialect];
        args.extend(extra);
        let o = liftlab(&args, d.path());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let want = std::fs::read_to_string(snapshots().join(format!("{key}.{dialect}.sql"))).unwrap();
        assert_eq!(text(&o.stdout), want);
    }
    let o = liftlab(&["sql", "--spec", spec, "--experiment", "call-script", "-o", "q.sql"], d.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(std::fs::read_to_string(d.path().join("q.sql")).unwrap().contains("(duckdb)"));

    // a bad catalogue: one line naming the field, nothing printed on stdout
    let bad = std::fs::read_to_string(snapshots().join("telesales.toml"))
        .unwrap()
        .replace("table = \"sales.orders\"", "table = \"sales.orders\\\"; DROP TABLE x; --\"");
    std::fs::write(d.path().join("bad.toml"), bad).unwrap();
    let o = liftlab(&["sql", "--spec", "bad.toml", "--experiment", "call-script"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("error: invalid_input: bad.toml.catalog.facts[0].table: "),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(text(&o.stderr).lines().count(), 1);
    assert!(o.stdout.is_empty());
    for (args, line) in [
        (
            vec!["sql", "--spec", spec, "--experiment", "call-script", "--dialect", "mysql"],
            "error: invalid_input: dialect: 'mysql' is not one of duckdb, postgres, clickhouse, spark, bigquery, snowflake\n",
        ),
        (
            vec!["sql", "--spec", spec, "--experiment", "call-script", "--start", "2025-13-01"],
            "error: invalid_input: start: '2025-13-01' is not a date YYYY-MM-DD\n",
        ),
        (
            vec!["sql", "--spec", spec],
            "error: invalid_input: experiment: the spec has 2 experiments; name one (call-script, sms-reminder)\n",
        ),
        (vec!["sql", "--spec", spec, "--experiment", "nope"], "error: not_found: experiment: no experiment named 'nope'\n"),
    ] {
        let o = liftlab(&args, d.path());
        assert_eq!((o.status.code(), text(&o.stderr)), (Some(2), line.to_string()), "{args:?}");
        assert!(o.stdout.is_empty());
    }
}

const SPEC: &str = r#"
[[experiments]]
key = "e"
variants = ["control", "treatment"]
analysis = { segments = ["channel"] }

[catalog]
id_types = ["phone"]
exposures = { table = "exposures", id_type = "phone", unit_col = "phone", experiment_col = "experiment",
              variant_col = "variant", time_col = "ts", dimensions = ["channel"] }
facts = [{ name = "orders", table = "orders", ids = { phone = "phone" }, time_col = "ts", columns = ["amount"] }]
metrics = [{ name = "revenue", kind = "sum", fact = "orders", column = "amount" },
           { name = "paid", kind = "binary", fact = "orders" }]
"#;

/// An engine's answer to SPEC's query: two days and two channels, shifts 12 (revenue) and none
/// (binary); the revenue's cubes sum to 0 (no skew).
const ANSWER_CSV: &str =
    "variant,exposure_day,dim0,n,m0_sum_x,m0_sum_x2,m0_sum_x3,m0_shift_x,m1_sum_x,m1_sum_x2,multiple_exposures
control,2025-01-01,,40,-20,900,0,12,10,10,3
control,2025-01-02,,60,30,1500,0,12,21,21,3
treatment,2025-01-01,,50,50,1300,0,12,20,20,3
treatment,2025-01-02,,50,75,1250,0,12,24,24,3
control,,sms,70,0,1700,0,12,22,22,3
control,,call,30,10,700,0,12,9,9,3
treatment,,sms,100,125,2550,0,12,44,44,3
";

#[test]
fn liftlab_analyze_reads_the_answer_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("spec.toml"), SPEC).unwrap();
    std::fs::write(d.path().join("stats.csv"), ANSWER_CSV).unwrap();
    // the same answer as duckdb -json prints it, and as JSON lines
    let mut lines = ANSWER_CSV.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Value> = lines
        .map(|l| {
            Value::Object(
                header
                    .iter()
                    .zip(l.split(','))
                    .map(|(h, v)| {
                        let v = match v.parse::<f64>() {
                            _ if v.is_empty() => Value::Null,
                            Ok(x) => json!(x),
                            Err(_) => json!(v),
                        };
                        (h.to_string(), v)
                    })
                    .collect(),
            )
        })
        .collect();
    std::fs::write(d.path().join("stats.json"), serde_json::to_string(&rows).unwrap()).unwrap();
    let ndjson: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(d.path().join("stats.jsonl"), ndjson.join("\n")).unwrap();

    let spec = Spec::from_toml(SPEC).unwrap();
    let table = StatsTable::from_json(&serde_json::to_string(&rows).unwrap()).unwrap();
    let want = serde_json::to_value(analyze_experiment(&spec, "e", &read_stats(&spec, "e", &table).unwrap()).unwrap())
        .unwrap();
    assert_eq!(want["data"]["exposures"], json!([100, 100]));
    assert_eq!(want["data"]["multiple_exposures"], json!(3));
    for file in ["stats.csv", "stats.json", "stats.jsonl"] {
        let o = liftlab(
            &["analyze", "--spec", "spec.toml", "--stats", file, "-o", "report.json", "--markdown", "r.md"],
            d.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o.stderr));
        assert_eq!(text(&o.stderr), "e: do not ship (200 units, 2 metrics) -> report.json\n", "{file}");
        let got: Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("report.json")).unwrap()).unwrap();
        assert_eq!(got, want, "{file}");
        // and `liftlab check` takes it like any report
        let o = liftlab(&["check", "--report", "report.json", "--baseline", "report.json"], d.path());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    }

    // a missing column is named, as is a null sum; --stats excludes --exposures
    std::fs::write(d.path().join("cut.csv"), ANSWER_CSV.replace("m0_sum_x2,", "m0_sumx2,")).unwrap();
    let o = liftlab(&["analyze", "--spec", "spec.toml", "--stats", "cut.csv", "-o", "r.json"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("error: schema_error: stats.m0_sum_x2: the engine's answer has no column"),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(d.path().join("nan.csv"), ANSWER_CSV.replace("-20,900", "-20,")).unwrap();
    let o = liftlab(&["analyze", "--spec", "spec.toml", "--stats", "nan.csv", "-o", "r.json"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).starts_with("error: invalid_input: stats.m0_sum_x2[0]: null"), "{}", text(&o.stderr));
    let o = liftlab(
        &["analyze", "--spec", "spec.toml", "--stats", "stats.csv", "--exposures", "x.csv", "-o", "r.json"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr).lines().count(), 1);
    let o = liftlab(&["analyze", "--spec", "spec.toml", "-o", "r.json"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

async fn post(router: &axum::Router, body: &Value) -> (StatusCode, Value) {
    post_as(router, body, None).await
}

async fn post_as(router: &axum::Router, body: &Value, bearer: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder().method("POST").uri("/v1/sql").header("content-type", "application/json");
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Body::from(body.to_string())).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn post_v1_sql_returns_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let telesales = std::fs::read_to_string(snapshots().join("telesales.toml")).unwrap();
    let config = ServerConfig { database: dir.path().join("t.db").to_str().unwrap().to_string(), ..Default::default() };
    let router = app(AppState::new(config, Some(telesales.clone())).unwrap());

    // the active spec
    let (s, v) = post(&router, &json!({"experiment": "call-script", "dialect": "snowflake"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sql"], std::fs::read_to_string(snapshots().join("call-script.snowflake.sql")).unwrap());
    assert_eq!(v["dialect"], "snowflake");
    assert_eq!(v["columns"][0], "variant");
    // an inline spec, a date range, the default dialect
    let (s, v) = post(
        &router,
        &json!({"spec": telesales, "experiment": "sms-reminder", "start": "2025-03-01", "end": "2025-05-31"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sql"], std::fs::read_to_string(snapshots().join("sms-reminder.duckdb.sql")).unwrap());

    let bad_fact = telesales.replacen("fact = \"orders\"", "fact = \"refunds\"", 1);
    for (body, status, field) in [
        (json!({"experiment": "call-script", "dialect": "mysql"}), StatusCode::UNPROCESSABLE_ENTITY, "dialect"),
        (json!({"experiment": "nope"}), StatusCode::NOT_FOUND, "experiment"),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "experiment"),
        (json!({"experiment": "call-script", "end": "2025-02-30"}), StatusCode::UNPROCESSABLE_ENTITY, "end"),
        (
            json!({"spec": bad_fact, "experiment": "call-script"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "spec.catalog.metrics[0].fact",
        ),
        (
            json!({"spec": "[[experiments]]\nkey = \"e\"\nvariants = [\"a\", \"b\"]\n", "experiment": "e"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "catalog",
        ),
        (json!({"experiment": "call-script", "base_dir": "/etc"}), StatusCode::UNPROCESSABLE_ENTITY, "base_dir"),
    ] {
        let (s, v) = post(&router, &body).await;
        assert_eq!((s, v["error"]["field"].as_str()), (status, Some(field)), "{body}: {v}");
    }

    // with read tokens, compiling a query is one of the guarded reads
    const READ: &str = "read-token-0123456789";
    let config = ServerConfig {
        database: dir.path().join("g.db").to_str().unwrap().to_string(),
        read_tokens: vec![READ.into()],
        ..Default::default()
    };
    let guarded = app(AppState::new(config, Some(telesales)).unwrap());
    let body = json!({"experiment": "call-script"});
    let (s, v) = post(&guarded, &body).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{v}");
    let (s, v) = post_as(&guarded, &body, Some(READ)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // and the OpenAPI document says so (schemathesis checks every status against it)
    let res = guarded.clone().oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    let api: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let op = &api["paths"]["/v1/sql"]["post"];
    assert!(op["security"].is_array() && op["responses"]["401"].is_object(), "{op}");
    assert_eq!(v["sql"], std::fs::read_to_string(snapshots().join("call-script.duckdb.sql")).unwrap());
}

/// Issue 14's bad-input cases (tests/fixtures/warehouse_bad_input.json, shared with the Python
/// door's test): the core, `liftlab sql` and `POST /v1/sql` each refuse them with an invalid-input
/// error naming the same field; the CLI says so in one line on stderr (exit 2) and prints no SQL.
#[tokio::test]
async fn bad_input_names_the_field_at_every_door() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/fixtures/warehouse_bad_input.json")).unwrap())
            .unwrap();
    let telesales = std::fs::read_to_string(snapshots().join("telesales.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { database: dir.path().join("t.db").to_str().unwrap().to_string(), ..Default::default() };
    let router = app(AppState::new(config, None).unwrap());
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for case in cases {
        let why = case["why"].as_str().unwrap();
        let field = case["field"].as_str().unwrap();
        let dialect = case["dialect"].as_str().unwrap_or("duckdb");
        let mut spec = telesales.clone();
        for edit in case["edits"].as_array().unwrap() {
            let (from, to) = (edit[0].as_str().unwrap(), edit[1].as_str().unwrap());
            assert!(spec.contains(from), "{why}: no '{from}' in telesales.toml");
            spec = spec.replacen(from, to, 1);
        }
        // the core
        let e = Spec::from_toml(&spec)
            .and_then(|s| {
                compile_sql(&s, "call-script", Dialect::from_name(dialect).unwrap(), &CompileOptions::default())
            })
            .unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_input", Some(field)), "{why}: {e}");
        // a load error names the field within the spec's place (file, request key), as every
        // spec error does; a compile error (a dialect's limit) names it within the spec, as the
        // analysis' errors do
        let within =
            |place: &str| if case.get("dialect").is_some() { field.to_string() } else { format!("{place}.{field}") };
        // the CLI
        std::fs::write(dir.path().join("bad.toml"), &spec).unwrap();
        let o =
            liftlab(&["sql", "--spec", "bad.toml", "--experiment", "call-script", "--dialect", dialect], dir.path());
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{why}: {err}");
        assert!(err.starts_with(&format!("error: invalid_input: {}: ", within("bad.toml"))), "{why}: {err}");
        assert_eq!(err.lines().count(), 1, "{why}: {err}");
        assert!(o.stdout.is_empty(), "{why}");
        // HTTP
        let (s, v) = post(&router, &json!({"spec": spec, "experiment": "call-script", "dialect": dialect})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {v}");
        assert_eq!(v["error"]["code"], "invalid_input", "{why}: {v}");
        assert_eq!(v["error"]["field"].as_str(), Some(within("spec").as_str()), "{why}: {v}");
    }
}
