//! The command-line face: what a user sees, and the exit codes CI relies on.

mod common;

use common::cli::{liftlab, stderr, stdout};

const SPEC: &str = "[[experiments]]\nkey = \"call-script\"\nvariants = [\"control\", \"short\"]\ncoverage = 0.5\n\
[[experiments]]\nkey = \"geo\"\nvariants = [\"control\", \"t\"]\ncondition = { country = \"US\" }\n";

#[test]
fn primitives_print_json() {
    let d = tempfile::tempdir().unwrap();
    let o = liftlab(&["hash", "--seed", "seed", "--value", "a", "--version", "2"], d.path());
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), r#"{"hash":0.0505}"#));
    let o = liftlab(&["bucket-ranges", "--n-variants", "2", "--coverage", "0.5"], d.path());
    assert_eq!(stdout(&o).trim(), r#"{"ranges":[[0.0,0.25],[0.5,0.75]]}"#);
    let o = liftlab(&["choose-variant", "--hash", "0.4", "--ranges", "[[0,0.25],[0.5,0.75]]"], d.path());
    assert_eq!(stdout(&o).trim(), r#"{"variant_index":null}"#);
    let o =
        liftlab(&["in-namespace", "--unit-id", "1", "--name", "namespace1", "--start", "0.4", "--end", "1"], d.path());
    assert_eq!(stdout(&o).trim(), r#"{"in_namespace":true}"#);
    let o = liftlab(
        &["eval-condition", "--condition", r#"{"age": {"$gt": 30}}"#, "--attributes", r#"{"age": 31}"#],
        d.path(),
    );
    assert_eq!(stdout(&o).trim(), r#"{"result":true}"#);
    // scipy 1.17.1 stats.chisquare([5300, 4700]) -> statistic 36.0, p 1.9731752900753933e-09
    let o = liftlab(&["srm", "--observed", "5300,4700", "--weights", "0.5,0.5"], d.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((v["statistic"].as_f64(), v["mismatch"].as_bool()), (Some(36.0), Some(true)));
    assert!((v["p_value"].as_f64().unwrap() - 1.9731752900753933e-09).abs() < 1e-18);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("bad.toml"),
        "[[experiments]]\nkey = \"a\"\nvariants = [\"c\", \"t\"]\nweights = [0.7, 0.6]\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["validate", "--spec", "bad.toml"], "bad.toml.experiments[0].weights"),
        (&["validate", "--spec", "missing.toml"], "missing.toml"),
        (&["hash", "--seed", "a", "--value", "b", "--version", "7"], "version"),
        (&["bucket-ranges", "--n-variants", "2", "--weights", "0.7,0.6"], "weights"),
        (&["bucket-ranges", "--n-variants", "2", "--coverage", "-0.5"], "coverage"),
        (&["choose-variant", "--hash", "0.1", "--ranges", "[[0,"], "ranges"),
        (&["eval-condition", "--condition", "[1]"], "condition"),
        (&["srm", "--observed", "1,2", "--weights", "0.5"], "weights"),
        (&["frobnicate"], "frobnicate"),
        (&["hash", "--seed", "a"], "--value"),
    ];
    for (args, needle) in cases {
        let o = liftlab(args, d.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn assign_csv_and_parquet_round_trip() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("exp.toml"), SPEC).unwrap();
    let mut units = String::from("lead,country\n");
    for i in 0..500 {
        units.push_str(&format!("lead-{i},{}\n", if i % 2 == 0 { "US" } else { "FR" }));
    }
    std::fs::write(d.path().join("units.csv"), units).unwrap();
    let o = liftlab(
        &["assign", "--spec", "exp.toml", "--units", "units.csv", "--unit-col", "lead", "-o", "out.parquet"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("assigned 500 units x 2 experiment(s)"));
    // Parquet in again, as units, and out as CSV: the same answers as the library.
    let o = liftlab(
        &[
            "assign",
            "--spec",
            "exp.toml",
            "--units",
            "out.parquet",
            // the deprecated alias of --unit-col, kept for one release
            "--id-col",
            "unit_id",
            "--experiment",
            "call-script",
            "-o",
            "again.csv",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.path().join("again.csv")).unwrap();
    let spec = liftlab::spec::Spec::from_toml(SPEC).unwrap();
    let mut rows = text.lines();
    assert_eq!(rows.next(), Some("unit_id,experiment,variant,reason,bucket"));
    let mut n = 0;
    for line in rows {
        let f: Vec<&str> = line.split(',').collect();
        let a = liftlab::assign::assign_experiment(&spec, "call-script", f[0], None).unwrap();
        assert_eq!(f[2], a.variant.as_deref().unwrap_or(""), "{line}");
        assert_eq!(f[3], a.reason.as_str(), "{line}");
        n += 1;
    }
    assert_eq!(n, 1000, "out.parquet held 500 units x 2 experiments");
    // Conditions read the other columns as attributes.
    let o = liftlab(
        &[
            "assign",
            "--spec",
            "exp.toml",
            "--units",
            "units.csv",
            "--id-col",
            "lead",
            "--experiment",
            "geo",
            "-o",
            "geo.csv",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let geo = std::fs::read_to_string(d.path().join("geo.csv")).unwrap();
    assert!(geo.lines().filter(|l| l.starts_with("lead-1,")).all(|l| l.contains("not_eligible")), "{geo}");
    assert!(geo.lines().filter(|l| l.starts_with("lead-0,")).all(|l| l.contains("assigned")));
}

#[test]
fn assign_errors_name_the_column_or_row() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("exp.toml"), SPEC).unwrap();
    std::fs::write(d.path().join("u.csv"), "id\nlead-1\n\nlead-3\n").unwrap();
    std::fs::write(d.path().join("v.csv"), "id,x\nlead-1,1\n,2\n").unwrap();
    let o = liftlab(&["assign", "--spec", "exp.toml", "--units", "u.csv", "--id-col", "nope", "-o", "o.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("schema_error: nope: no column 'nope'"), "{}", stderr(&o));
    let o = liftlab(&["assign", "--spec", "exp.toml", "--units", "v.csv", "-o", "o.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("id.ids[1]: unit id is empty"), "{}", stderr(&o));
    let o = liftlab(&["assign", "--spec", "exp.toml", "--units", "u.csv", "-o", "o.xlsx"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let o =
        liftlab(&["assign", "--spec", "exp.toml", "--units", "u.csv", "--experiment", "zzz", "-o", "o.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not_found"), "{}", stderr(&o));
    assert!(!d.path().join("o.csv").exists(), "nothing written on error");
}
