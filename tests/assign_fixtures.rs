//! The golden assignment cases (`tests/fixtures/assign_cases.json`, expected values from the
//! GrowthBook Python SDK by `tests/fixtures/make_assign_cases.py`) through three doors: the Rust
//! API, HTTP (in-process) and the CLI binary. `tests/python/test_assign.py` runs the same file
//! through Python, so the four doors cannot drift apart.
//!
//! A case's `unit_id` may be a JSON number (a numeric id, hashed as JavaScript prints it; the
//! `unit_id_text` section lists that text for numbers a DataFrame can hold): each door takes the
//! number as its users would give it (a JSON number over HTTP, a cell of a CSV file at the CLI).

mod common;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use liftlab::assign::{self, HashVersion};
use liftlab::server::{app, AppState, ServerConfig};
use liftlab::spec::Spec;
use serde_json::{json, Value};
use tower::ServiceExt;

fn cases() -> Value {
    let c = common::fixture_json("assign_cases.json");
    assert_eq!(c["format_version"], 1, "fixture format");
    c
}

fn list<'a>(c: &'a Value, k: &str) -> &'a Vec<Value> {
    c[k].as_array().unwrap_or_else(|| panic!("fixture section {k}"))
}

fn ranges(v: &Value) -> Vec<(f64, f64)> {
    v.as_array().unwrap().iter().map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap())).collect()
}

/// The unit id a case's `unit_id` stands for (a number as JavaScript prints it).
fn unit_id_text(v: &Value) -> String {
    assign::unit_id_from_json(v, "unit_id").unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn expected_map(assignments: &[assign::Assignment]) -> Value {
    let mut m = serde_json::Map::new();
    for a in assignments {
        m.insert(a.experiment.clone(), json!({"variant": a.variant, "reason": a.reason.as_str()}));
    }
    Value::Object(m)
}

#[test]
fn rust_door() {
    let c = cases();
    for x in list(&c, "hash") {
        let v = HashVersion::from_number(x["version"].as_i64().unwrap(), "version").unwrap();
        assert_eq!(
            assign::hash_unit(x["seed"].as_str().unwrap(), x["value"].as_str().unwrap(), v),
            x["expected"].as_f64().unwrap(),
            "{x}"
        );
    }
    for x in list(&c, "bucket_ranges") {
        let w: Option<Vec<f64>> = x["weights"].as_array().map(|w| w.iter().map(|v| v.as_f64().unwrap()).collect());
        let got = assign::bucket_ranges(
            x["n_variants"].as_u64().unwrap() as usize,
            x["coverage"].as_f64().unwrap(),
            w.as_deref(),
        );
        match x.get("error_field") {
            Some(f) => assert_eq!(got.unwrap_err().field(), f.as_str(), "{x}"),
            None => {
                let want = ranges(&x["expected"]);
                let got = got.unwrap();
                assert!(
                    got.iter().zip(&want).all(|(g, w)| (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9)
                        && got.len() == want.len(),
                    "{x}: {got:?}"
                );
            }
        }
    }
    for x in list(&c, "choose_variant") {
        let got = assign::choose_variant(x["hash"].as_f64().unwrap(), &ranges(&x["ranges"]));
        assert_eq!(json!(got), x["expected"], "{x}");
    }
    for x in list(&c, "in_namespace") {
        let got = assign::in_namespace(
            x["unit_id"].as_str().unwrap(),
            x["name"].as_str().unwrap(),
            x["start"].as_f64().unwrap(),
            x["end"].as_f64().unwrap(),
        );
        assert_eq!(json!(got), x["expected"], "{x}");
    }
    for x in list(&c, "eval_condition") {
        let groups = x.get("groups").map(|g| serde_json::from_value(g.clone()).unwrap()).unwrap_or_default();
        assert_eq!(
            json!(assign::eval_condition(&x["condition"], &x["attributes"], &groups).unwrap()),
            x["expected"],
            "{x}"
        );
    }
    for x in list(&c, "assign") {
        let spec = Spec::from_json(&x["spec"]).unwrap_or_else(|e| panic!("{}: {e}", x["name"]));
        let attrs = (!x["attributes"].is_null()).then_some(&x["attributes"]);
        if let Some(text) = x.get("unit_id_text") {
            assert_eq!(json!(unit_id_text(&x["unit_id"])), *text, "{}", x["name"]);
        }
        let got = assign::assign_unit(&spec, &unit_id_text(&x["unit_id"]), attrs).unwrap();
        assert_eq!(expected_map(&got), x["expected"], "{}", x["name"]);
    }
    for x in list(&c, "unit_id_text") {
        assert_eq!(json!(unit_id_text(&x["value"])), x["expected"], "{x}");
    }
    for x in list(&c, "errors") {
        let e = Spec::from_json(&x["spec"]).expect_err(x["name"].as_str().unwrap());
        assert_eq!(e.field(), x["error_field"].as_str(), "{}: {e}", x["name"]);
    }
}

async fn post(app: &axum::Router, uri: &str, body: Value) -> (u16, Value) {
    let req = Request::post(uri).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    (status, serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap())
}

#[tokio::test]
async fn http_door() {
    let c = cases();
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { database: dir.path().join("f.db").to_str().unwrap().into(), ..Default::default() };
    let app = app(AppState::new(config, None).unwrap());
    for x in list(&c, "hash") {
        let (s, v) =
            post(&app, "/v1/hash", json!({"seed": x["seed"], "value": x["value"], "version": x["version"]})).await;
        assert_eq!((s, &v["hash"]), (200, &x["expected"]), "{x}");
        // without `version`, version 2: the default of the CLI and of Python too
        if x["version"] == 2 {
            let (s, v) = post(&app, "/v1/hash", json!({"seed": x["seed"], "value": x["value"]})).await;
            assert_eq!((s, &v["hash"]), (200, &x["expected"]), "{x}");
        }
    }
    for x in list(&c, "bucket_ranges") {
        let (s, v) = post(
            &app,
            "/v1/bucket-ranges",
            json!({"n_variants": x["n_variants"], "coverage": x["coverage"], "weights": x["weights"]}),
        )
        .await;
        match x.get("error_field") {
            Some(f) => assert_eq!((s, &v["error"]["field"]), (422, f), "{x}"),
            None => {
                assert_eq!(s, 200, "{x}");
                let (got, want) = (ranges(&v["ranges"]), ranges(&x["expected"]));
                assert!(
                    got.iter().zip(&want).all(|(g, w)| (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9),
                    "{x}"
                );
            }
        }
    }
    for x in list(&c, "choose_variant") {
        let (_, v) = post(&app, "/v1/choose-variant", json!({"hash": x["hash"], "ranges": x["ranges"]})).await;
        assert_eq!(v["variant_index"], x["expected"], "{x}");
    }
    for x in list(&c, "in_namespace") {
        let (_, v) = post(
            &app,
            "/v1/in-namespace",
            json!({"unit_id": x["unit_id"], "name": x["name"], "start": x["start"], "end": x["end"]}),
        )
        .await;
        assert_eq!(v["in_namespace"], x["expected"], "{x}");
    }
    for x in list(&c, "eval_condition") {
        let (_, v) = post(
            &app,
            "/v1/eval-condition",
            json!({"condition": x["condition"], "attributes": x["attributes"], "groups": x.get("groups")}),
        )
        .await;
        assert_eq!(v["result"], x["expected"], "{x}");
    }
    for x in list(&c, "assign") {
        let (s, v) = post(
            &app,
            "/v1/assign",
            json!({"unit_id": x["unit_id"], "attributes": x["attributes"], "spec": x["spec"]}),
        )
        .await;
        assert_eq!(s, 200, "{}: {v}", x["name"]);
        assert_eq!(v["unit_id"], json!(unit_id_text(&x["unit_id"])), "{}", x["name"]);
        let got: Vec<assign::Assignment> = serde_json::from_value(v["assignments"].clone()).unwrap();
        assert_eq!(expected_map(&got), x["expected"], "{}", x["name"]);
        let attrs = if x["attributes"].is_null() { Value::Null } else { json!([x["attributes"]]) };
        let (s, b) =
            post(&app, "/v1/assign/batch", json!({"ids": [x["unit_id"]], "attributes": attrs, "spec": x["spec"]}))
                .await;
        assert_eq!(s, 200, "{}: {b}", x["name"]);
        for (i, k) in b["experiment"].as_array().unwrap().iter().enumerate() {
            let want = &x["expected"][k.as_str().unwrap()];
            assert_eq!(
                (&b["variant"][i], &b["reason"][i], &b["unit_id"][i]),
                (&want["variant"], &want["reason"], &json!(unit_id_text(&x["unit_id"]))),
                "{} (batch)",
                x["name"]
            );
        }
    }
    let spec = json!({"experiments": [{"key": "e", "variants": ["control", "treatment"]}]});
    let numbers: Vec<Value> = list(&c, "unit_id_text").iter().map(|x| x["value"].clone()).collect();
    let (s, b) = post(&app, "/v1/assign/batch", json!({"ids": numbers, "spec": spec})).await;
    assert_eq!(s, 200, "{b}");
    for (x, got) in list(&c, "unit_id_text").iter().zip(b["unit_id"].as_array().unwrap()) {
        assert_eq!(got, &x["expected"], "{x}");
    }
    for (body, field) in [
        (json!({"unit_id": true, "spec": spec}), "unit_id"),
        (json!({"unit_id": null, "spec": spec}), "unit_id"),
        (json!({"unit_id": [1], "spec": spec}), "unit_id"),
    ] {
        let (s, v) = post(&app, "/v1/assign", body).await;
        assert_eq!((s, v["error"]["field"].as_str()), (422, Some(field)), "{v}");
    }
    let (s, v) = post(&app, "/v1/assign/batch", json!({"ids": ["a", 2, false], "spec": spec})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("ids[2]")), "{v}");
    for x in list(&c, "errors") {
        let (s, v) = post(&app, "/v1/assign", json!({"unit_id": "u", "spec": x["spec"]})).await;
        assert!(s == 422 || s == 404, "{}: {s}", x["name"]);
        assert_eq!(
            v["error"]["field"].as_str(),
            Some(format!("spec.{}", x["error_field"].as_str().unwrap()).as_str()),
            "{}",
            x["name"]
        );
    }
}

fn cli(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let o = common::cli::liftlab(args, dir);
    (o.status.code().unwrap_or(-1), common::cli::stdout(&o), common::cli::stderr(&o))
}

#[test]
fn cli_door() {
    let c = cases();
    let d = tempfile::tempdir().unwrap();
    for x in list(&c, "hash") {
        let (code, out, err) = cli(
            &[
                "hash",
                "--seed",
                x["seed"].as_str().unwrap(),
                "--value",
                x["value"].as_str().unwrap(),
                "--version",
                &x["version"].to_string(),
            ],
            d.path(),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["hash"], x["expected"], "{x}");
    }
    for x in list(&c, "choose_variant") {
        let (_, out, _) =
            cli(&["choose-variant", "--hash", &x["hash"].to_string(), "--ranges", &x["ranges"].to_string()], d.path());
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["variant_index"], x["expected"], "{x}");
    }
    for x in list(&c, "in_namespace") {
        let (_, out, _) = cli(
            &[
                "in-namespace",
                "--unit-id",
                x["unit_id"].as_str().unwrap(),
                "--name",
                x["name"].as_str().unwrap(),
                "--start",
                &x["start"].to_string(),
                "--end",
                &x["end"].to_string(),
            ],
            d.path(),
        );
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["in_namespace"], x["expected"], "{x}");
    }
    for x in list(&c, "eval_condition") {
        let mut args = vec![
            "eval-condition".to_string(),
            "--condition".into(),
            x["condition"].to_string(),
            "--attributes".into(),
            x["attributes"].to_string(),
        ];
        if let Some(g) = x.get("groups") {
            args.extend(["--groups".into(), g.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, out, err) = cli(&args, d.path());
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap_or_else(|_| panic!("{err}"))["result"],
            x["expected"],
            "{x}"
        );
    }
    // Assignments: each case's spec as TOML and its unit as a one-row CSV.
    for (i, x) in list(&c, "assign").iter().enumerate() {
        let spec = Spec::from_json(&x["spec"]).unwrap();
        std::fs::write(d.path().join(format!("s{i}.toml")), spec.to_toml().unwrap()).unwrap();
        let mut header = vec!["id".to_string()];
        // a numeric id as a CSV writer prints the number (`47593751.0`)
        let mut row = vec![match &x["unit_id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }];
        if let Some(a) = x["attributes"].as_object() {
            for (k, v) in a {
                if k == "id" || v.is_object() || v.is_array() || v.is_null() {
                    continue;
                }
                header.push(k.clone());
                row.push(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
        }
        let nested = x["attributes"].as_object().is_some_and(|a| a.values().any(|v| v.is_object() || v.is_array()));
        if nested {
            continue; // CSV cells are flat; nested attributes are covered by the other doors
        }
        std::fs::write(d.path().join(format!("u{i}.csv")), format!("{}\n{}\n", header.join(","), row.join(",")))
            .unwrap();
        let (code, _, err) = cli(
            &["assign", "--spec", &format!("s{i}.toml"), "--units", &format!("u{i}.csv"), "-o", &format!("o{i}.csv")],
            d.path(),
        );
        assert_eq!(code, 0, "{}: {err}", x["name"]);
        let out = std::fs::read_to_string(d.path().join(format!("o{i}.csv"))).unwrap();
        for line in out.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let want = &x["expected"][f[1]];
            assert_eq!(f[0], unit_id_text(&x["unit_id"]), "{}", x["name"]);
            assert_eq!(f[2], want["variant"].as_str().unwrap_or(""), "{}", x["name"]);
            assert_eq!(f[3], want["reason"].as_str().unwrap(), "{}", x["name"]);
        }
    }
    // A column of numbers, as a CSV writer prints them (and `NaN` / an empty cell for a missing
    // one, an error naming the row): the unit ids JavaScript prints.
    let numbers: Vec<String> = list(&c, "unit_id_text").iter().map(|x| x["value"].to_string()).collect();
    std::fs::write(
        d.path().join("s-num.toml"),
        "[[experiments]]\nkey = \"e\"\nvariants = [\"control\", \"treatment\"]\n",
    )
    .unwrap();
    std::fs::write(d.path().join("u-num.csv"), format!("id\n{}\n", numbers.join("\n"))).unwrap();
    let (code, _, err) = cli(&["assign", "--spec", "s-num.toml", "--units", "u-num.csv", "-o", "o-num.csv"], d.path());
    assert_eq!(code, 0, "{err}");
    let out = std::fs::read_to_string(d.path().join("o-num.csv")).unwrap();
    let got: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let want: Vec<&str> = list(&c, "unit_id_text").iter().map(|x| x["expected"].as_str().unwrap()).collect();
    assert_eq!(got, want);
    std::fs::write(d.path().join("u-nan.csv"), "id\n47593751.0\nNaN\n12.0\n").unwrap();
    let (code, _, err) = cli(&["assign", "--spec", "s-num.toml", "--units", "u-nan.csv", "-o", "o-nan.csv"], d.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ids[1]"), "{err}");
    for (i, x) in list(&c, "errors").iter().enumerate() {
        let p = d.path().join(format!("e{i}.json"));
        std::fs::write(&p, x["spec"].to_string()).unwrap();
        // Specs are TOML at the CLI: only those JSON specs that TOML can express are replayed.
        if let Ok(file) = serde_json::from_value::<toml::Value>(x["spec"].clone()) {
            std::fs::write(d.path().join(format!("e{i}.toml")), toml::to_string(&file).unwrap()).unwrap();
            let (code, _, err) = cli(&["validate", "--spec", &format!("e{i}.toml")], d.path());
            assert_eq!(code, 2, "{}", x["name"]);
            assert!(
                err.contains(&format!("e{i}.toml.{}:", x["error_field"].as_str().unwrap())),
                "{}: {err}",
                x["name"]
            );
        }
    }
}
