//! Issue 16's check: the same bad input gives the same code and field path at all four doors.
//! The cases are `tests/fixtures/error_cases.json`; this file runs them through the Rust core, the
//! CLI binary (exit 2 and its one line `error: <code>: <field>: <reason>`) and HTTP in-process
//! (4xx, `error.code`, `error.field`, `error.path`, `error.detail`); `tests/python/test_error_doors.py`
//! runs them through Python (exception class, `.code`, `.field`, `.path`, `.detail`).

mod common;

use common::service::{app_with, call, TOKEN};
use liftlab::error::{FieldPath, Segment};
use liftlab::spec::Spec;
use liftlab::Error;
use serde_json::{json, Value};

fn cases() -> Value {
    common::fixture_json("error_cases.json")
}

/// The case's spec text: the fixture's spec (or `spec_file`) with its edits applied.
fn spec_text(c: &Value, case: &Value) -> String {
    let mut text = match case["spec_file"].as_str() {
        Some(f) => std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).unwrap(),
        None => c["spec"].as_str().unwrap().to_string(),
    };
    for e in case["edits"].as_array().into_iter().flatten() {
        let (from, to) = (e[0].as_str().unwrap(), e[1].as_str().unwrap());
        assert!(text.contains(from), "{}: edit {from:?} does not apply", case["name"]);
        text = text.replacen(from, to, 1);
    }
    text
}

/// The case's exposures as columns (an edited cell).
fn exposures(c: &Value, case: &Value) -> serde_json::Map<String, Value> {
    let mut x = c["exposures"].as_object().unwrap().clone();
    if let Some(cell) = case["exposures_cell"].as_array() {
        x[cell[0].as_str().unwrap()][cell[1].as_u64().unwrap() as usize] = cell[2].clone();
    }
    x
}

/// The case's outcomes as columns (a renamed column, an edited cell).
fn outcomes(c: &Value, case: &Value) -> serde_json::Map<String, Value> {
    let mut o = c["outcomes"].as_object().unwrap().clone();
    if let Some(cell) = case["cell"].as_array() {
        o[cell[0].as_str().unwrap()][cell[1].as_u64().unwrap() as usize] = cell[2].clone();
    }
    if let Some(r) = case["rename_column"].as_array() {
        let v = o.remove(r[0].as_str().unwrap()).unwrap();
        o.insert(r[1].as_str().unwrap().to_string(), v);
    }
    o
}

fn path_of(v: &Value) -> FieldPath {
    FieldPath::new(
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| match s {
                Value::Number(n) => Segment::Index(n.as_u64().unwrap() as usize),
                Value::String(k) => Segment::Key(k.clone()),
                other => panic!("path segment {other}"),
            })
            .collect(),
    )
}

/// A door's expected path: its prefix, then the core path through its rename table.
fn door_path(case: &Value, door: &str, spec_file: &str) -> FieldPath {
    let core = case.get(format!("{door}_path")).unwrap_or(&case["path"]);
    let prefix = case["prefix"][door]
        .as_array()
        .map_or_else(Vec::new, |p| p.iter().map(|s| if s == "$spec" { json!(spec_file) } else { s.clone() }).collect());
    // a prefix is a name taken whole (a file's path), not dotted text
    let mut segments: Vec<Segment> = prefix.iter().map(|s| Segment::Key(s.as_str().unwrap().to_string())).collect();
    segments.extend(path_of(core).segments().iter().cloned());
    FieldPath::new(segments)
}

fn assert_core(case: &Value, e: &Error) {
    let name = &case["name"];
    assert_eq!(e.code(), case["code"], "{name}: {e}");
    assert_eq!(e.detail().map(|d| d.as_str()), case["detail"].as_str(), "{name}: {e}");
    assert_eq!(e.path(), Some(&path_of(&case["path"])), "{name}: {e}");
    assert!(e.to_string().starts_with(&format!("{}: ", path_of(&case["path"]))), "{name}: {e}");
}

/// The outcomes as the core takes them, each JSON cell through the core's number rule (as a
/// reader of files, DataFrames or JSON arrays converts them).
fn frame(o: &serde_json::Map<String, Value>) -> liftlab::Result<liftlab::report::Outcomes> {
    use liftlab::report::input::{number_cell, Nan, NumberCell};
    let units =
        liftlab::report::Ids::Int(o["unit_id"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect());
    let columns = o
        .iter()
        .filter(|(k, _)| *k != "unit_id")
        .map(|(k, v)| {
            let cells = v.as_array().unwrap().iter().enumerate().map(|(i, x)| {
                let cell = match x {
                    Value::Null => NumberCell::Null,
                    Value::String(s) => NumberCell::Text(s),
                    x => NumberCell::Number(x.as_f64().unwrap()),
                };
                number_cell(k, i, cell, Nan::Error).map_err(|e| e.within("outcomes"))
            });
            Ok((k.clone(), cells.collect::<liftlab::Result<_>>()?))
        })
        .collect::<liftlab::Result<_>>()?;
    Ok(liftlab::report::Outcomes { units, columns })
}

#[test]
fn core_door() {
    use liftlab::report::{self, Codes, Exposures, Ids};
    let c = cases();
    for case in c["cases"].as_array().unwrap() {
        let e = match case["op"].as_str().unwrap() {
            "spec" => Spec::from_toml(&spec_text(&c, case)).unwrap_err(),
            "analyze" => {
                let spec = Spec::from_toml(&spec_text(&c, case)).unwrap();
                let r = spec.resolve_experiment(case["experiment"].as_str()).map(|e| e.key.clone()).and_then(|key| {
                    use liftlab::report::input::{days, RawColumn};
                    let x = exposures(&c, case);
                    let units =
                        Ids::Int(x["unit_id"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect());
                    let variants = x["variant"].as_array().unwrap().iter().map(|v| v.as_str()).collect::<Vec<_>>();
                    let time: Vec<Option<String>> =
                        x["time"].as_array().unwrap().iter().map(|v| v.as_str().map(str::to_string)).collect();
                    let days = days("time", 0, RawColumn::Text(&time)).map_err(|e| e.within("exposures"))?;
                    let exposures =
                        Exposures { units, variants: Codes::from_values(variants), days: Some(days), segments: vec![] };
                    report::aggregate_experiment(&spec, &key, &exposures, &frame(&outcomes(&c, case))?)
                });
                r.unwrap_err()
            }
            "ranges" => {
                let w: Option<Vec<f64>> =
                    case["weights"].as_array().map(|w| w.iter().map(|x| x.as_f64().unwrap()).collect());
                liftlab::assign::bucket_ranges(
                    case["n_variants"].as_u64().unwrap() as usize,
                    case["coverage"].as_f64().unwrap(),
                    w.as_deref(),
                )
                .unwrap_err()
            }
            "plan" => {
                let u = case["uplift"].as_object().unwrap();
                let cols: Vec<Vec<f64>> =
                    u.values().map(|v| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect();
                let rows: Vec<Vec<f64>> = (0..cols[0].len()).map(|i| cols.iter().map(|c| c[i]).collect()).collect();
                let k = case["max_contacts"].as_u64().unwrap() as usize;
                liftlab::uplift::policy::plan_contacts(
                    &rows,
                    &[case["cost"].as_f64().unwrap()],
                    &[case["value"].as_f64().unwrap()],
                    &[liftlab::uplift::policy::Budget::MaxContacts(k)],
                )
                .unwrap_err()
            }
            op => panic!("op {op}"),
        };
        assert_core(case, &e);
    }
}

fn csv(cols: &serde_json::Map<String, Value>) -> String {
    let names: Vec<&String> = cols.keys().collect();
    let n = cols.values().next().unwrap().as_array().unwrap().len();
    let mut s = names.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",") + "\n";
    for i in 0..n {
        let row: Vec<String> = names
            .iter()
            .map(|k| match &cols[k.as_str()][i] {
                Value::Null => String::new(),
                Value::String(t) => t.clone(),
                v => v.to_string(),
            })
            .collect();
        s += &(row.join(",") + "\n");
    }
    s
}

#[test]
fn cli_door() {
    let c = cases();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for case in c["cases"].as_array().unwrap() {
        let spec_file = dir.join("spec.toml").to_str().unwrap().to_string();
        std::fs::write(&spec_file, spec_text(&c, case)).unwrap();
        let args: Vec<String> = match case["op"].as_str().unwrap() {
            "spec" => vec!["validate".into(), "--spec".into(), spec_file.clone()],
            "analyze" => {
                std::fs::write(dir.join("exposures.csv"), csv(&exposures(&c, case))).unwrap();
                std::fs::write(dir.join("outcomes.csv"), csv(&outcomes(&c, case))).unwrap();
                let mut a: Vec<String> = ["analyze", "--spec", &spec_file, "--exposures", "exposures.csv"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                a.extend(["--outcomes".into(), "outcomes.csv".into(), "-o".into(), "report.json".into()]);
                a.extend(["--time-col".into(), "time".into()]);
                if let Some(k) = case["experiment"].as_str() {
                    a.extend(["--experiment".into(), k.into()]);
                }
                a
            }
            "ranges" => {
                let mut a = vec![
                    "bucket-ranges".to_string(),
                    "--n-variants".into(),
                    case["n_variants"].to_string(),
                    "--coverage".into(),
                    case["coverage"].to_string(),
                ];
                if let Some(w) = case["weights"].as_array() {
                    a.extend(["--weights".into(), w.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")]);
                }
                a
            }
            "plan" => {
                let u = case["uplift"].as_object().unwrap();
                let mut scored = u.clone();
                let n = u.values().next().unwrap().as_array().unwrap().len();
                scored.insert("id".into(), json!((0..n).map(|i| format!("u{i}")).collect::<Vec<_>>()));
                std::fs::write(dir.join("scored.csv"), csv(&scored)).unwrap();
                let ch = u.keys().next().unwrap();
                vec![
                    "uplift".into(),
                    "plan".into(),
                    "--scored".into(),
                    "scored.csv".into(),
                    "--uplift-cols".into(),
                    ch.clone(),
                    "--cost".into(),
                    case["cost"].to_string(),
                    "--value".into(),
                    case["value"].to_string(),
                    "--max-contacts".into(),
                    case["max_contacts"].to_string(),
                    "-o".into(),
                    "contacts.csv".into(),
                ]
            }
            op => panic!("op {op}"),
        };
        let o =
            std::process::Command::new(env!("CARGO_BIN_EXE_liftlab")).args(&args).current_dir(dir).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let name = &case["name"];
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
        let want = format!("error: {}: {}: ", case["code"].as_str().unwrap(), door_path(case, "cli", &spec_file));
        assert!(err.starts_with(&want), "{name}: {err:?} does not start with {want:?}");
    }
}

#[tokio::test]
async fn http_door() {
    let c = cases();
    let (app, _dir) = app_with(None, |_| {});
    let auth = format!("Bearer {TOKEN}");
    for case in c["cases"].as_array().unwrap() {
        if case["http"] == false {
            continue;
        }
        let spec = spec_text(&c, case);
        let (uri, body) = match case["op"].as_str().unwrap() {
            "spec" => ("/v1/assign", json!({"unit_id": "u1", "spec": spec})),
            "analyze" => {
                let mut raw_out = serde_json::Map::new();
                let mut o = outcomes(&c, case);
                raw_out.insert("unit".into(), o.remove("unit_id").unwrap());
                raw_out.insert("columns".into(), Value::Object(o));
                let x = exposures(&c, case);
                let mut b = json!({
                    "spec": spec,
                    "raw": {"exposures": {"unit": x["unit_id"], "variant": x["variant"], "time": x["time"]}, "outcomes": raw_out},
                });
                if let Some(k) = case["experiment"].as_str() {
                    b["experiment"] = json!(k);
                }
                ("/v1/analyze", b)
            }
            "ranges" => (
                "/v1/bucket-ranges",
                json!({"n_variants": case["n_variants"], "coverage": case["coverage"], "weights": case["weights"]}),
            ),
            op => panic!("op {op}"),
        };
        let (status, v) = call(&app, "POST", uri, Some(&body.to_string()), &[("authorization", &auth)]).await;
        let name = &case["name"];
        let want = door_path(case, "http", "");
        assert!(status.is_client_error(), "{name}: {status} {v}");
        assert_eq!(v["error"]["code"], case["code"], "{name}: {v}");
        assert_eq!(v["error"]["field"], want.to_string(), "{name}: {v}");
        let path: Vec<Value> = want
            .segments()
            .iter()
            .map(|s| match s {
                Segment::Key(k) => json!(k),
                Segment::Index(i) => json!(i),
            })
            .collect();
        assert_eq!(v["error"]["path"], Value::Array(path), "{name}: {v}");
        assert_eq!(v["error"]["detail"], case["detail"], "{name}: {v}");
    }
}

/// The CLI's rename table is what the fixture's `cli_path` rows say.
#[test]
fn cli_table_rows() {
    let c = cases();
    for case in c["cases"].as_array().unwrap() {
        if let Some(p) = case.get("cli_path") {
            let names = liftlab::cli::names::Names::default();
            assert_eq!(names.rename(path_of(&case["path"])), path_of(p), "{}", case["name"]);
        }
    }
}
