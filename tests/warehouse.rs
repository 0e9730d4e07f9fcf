//! The metric catalogue and the SQL compiler: the compiled query of every dialect against its
//! reviewed snapshot (tests/sql_snapshots; `UPDATE_SNAPSHOTS=1 cargo test --test warehouse`
//! rewrites them, and the diff is the review), bad input named by field with nothing compiled,
//! names that cannot inject SQL, and the reading of an engine's answer.

use std::path::PathBuf;

use liftlab::report::analyze_experiment;
use liftlab::spec::Spec;
use liftlab::warehouse::{compile_sql, read_stats, Cell, CompileOptions, Dialect, StatsTable};

fn snapshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql_snapshots")
}

fn telesales() -> Spec {
    Spec::from_toml(&std::fs::read_to_string(snapshots().join("telesales.toml")).unwrap()).unwrap()
}

fn options(key: &str) -> CompileOptions {
    // one experiment with a date range, one without
    if key == "sms-reminder" {
        CompileOptions { start: Some("2025-03-01".into()), end: Some("2025-05-31".into()), base_dir: None }
    } else {
        CompileOptions::default()
    }
}

#[test]
fn compiled_sql_matches_the_reviewed_snapshots() {
    let spec = telesales();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for key in ["call-script", "sms-reminder"] {
        for d in Dialect::ALL {
            let q = compile_sql(&spec, key, d, &options(key)).unwrap();
            let path = snapshots().join(format!("{key}.{}.sql", d.name()));
            if update {
                std::fs::write(&path, &q.sql).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(q.sql.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "compiled SQL differs from {stale:?}: review with UPDATE_SNAPSHOTS=1 and git diff");
}

fn err(toml: &str) -> liftlab::Error {
    Spec::from_toml(toml).unwrap_err()
}

const BASE: &str = r#"
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[catalog]
id_types = ["phone", "unionid"]

[catalog.exposures]
table = "exposures"
id_type = "phone"
unit_col = "phone"
experiment_col = "experiment"
variant_col = "variant"
time_col = "ts"
dimensions = ["channel"]

[[catalog.facts]]
name = "orders"
table = "orders"
ids = { phone = "phone" }
time_col = "ts"
columns = ["amount", "status"]
"#;

fn with_metric(metric: &str) -> String {
    format!("{BASE}\n[[catalog.metrics]]\n{metric}\n")
}

#[test]
fn bad_catalogues_name_the_field() {
    let cases: Vec<(String, &str)> = vec![
        (with_metric("name = \"m\"\nkind = \"sum\"\nfact = \"orders\"\ncolumn = \"amount\"\ncolour = 1"), "catalog.metrics[0].colour"),
        (format!("{BASE}\nunknown = 1\n"), "catalog.facts[0].unknown"),
        (BASE.replace("[catalog]\n", "[catalog]\nunknown = 1\n"), "catalog.unknown"),
        (with_metric("name = \"m\"\nkind = \"sum\"\nfact = \"refunds\"\ncolumn = \"amount\""), "catalog.metrics[0].fact"),
        (with_metric("name = \"m\"\nkind = \"sum\"\nfact = \"orders\"\ncolumn = \"amt\""), "catalog.metrics[0].column"),
        (with_metric("name = \"m\"\nkind = \"sum\"\nfact = \"orders\""), "catalog.metrics[0].column"),
        (with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nwindow_days = [7, 3]"), "catalog.metrics[0].window_days"),
        (with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nwindow_days = [-1, 3]"), "catalog.metrics[0].window_days[0]"),
        (with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nlookback_days = 0"), "catalog.metrics[0].lookback_days"),
        (with_metric("name = \"m\"\nkind = \"binary\"\nfact = \"orders\"\nlookback_days = 7"), "catalog.metrics[0].lookback_days"),
        (
            with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nfilters = [{ column = \"nope\", op = \"=\", value = 1 }]"),
            "catalog.metrics[0].filters[0].column",
        ),
        (
            with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nfilters = [{ column = \"status\", op = \"like\", value = 1 }]"),
            "catalog.metrics[0].filters[0].op",
        ),
        (
            with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nfilters = [{ column = \"status\", op = \"in\", value = \"x\" }]"),
            "catalog.metrics[0].filters[0].value",
        ),
        (with_metric("name = \"m\"\nkind = \"ratio\"\nnumerator = { fact = \"orders\", agg = \"sum\", column = \"amount\" }"), "catalog.metrics[0].denominator"),
        (with_metric("name = \"m\"\nkind = \"mean\"\nagg = \"median\"\nfact = \"orders\"\ncolumn = \"amount\""), "catalog.metrics[0].agg"),
        (with_metric("name = \"m\"\nkind = \"binary\"\nfact = \"orders\"\ncap = { value = 3 }"), "catalog.metrics[0].cap"),
        // the log-scale interval needs sums of ln x, which the query does not compute
        (
            with_metric("name = \"m\"\nkind = \"sum\"\nfact = \"orders\"\ncolumn = \"amount\"\nrelative_interval = \"log\""),
            "catalog.metrics[0].relative_interval",
        ),
        (with_metric("name = \"m\\\"; DROP TABLE orders; --\"\nkind = \"count\"\nfact = \"orders\""), "catalog.metrics[0].name"),
        (BASE.replace("table = \"orders\"", "table = \"orders\\\" ; DROP TABLE x; --\""), "catalog.facts[0].table"),
        (BASE.replace("columns = [\"amount\", \"status\"]", "columns = [\"amount`\"]"), "catalog.facts[0].columns[0]"),
        (BASE.replace("unit_col = \"phone\"", "unit_col = \"ph'one\""), "catalog.exposures.unit_col"),
        (BASE.replace("ids = { phone = \"phone\" }", "ids = { unionid = \"unionid\" }"), "catalog.facts[0].ids"),
        (BASE.replace("ids = { phone = \"phone\" }", "ids = { email = \"email\" }"), "catalog.facts[0].ids.email"),
        (BASE.replace("table = \"orders\"", "sql = \"DELETE FROM orders\""), "catalog.facts[0].sql"),
        (BASE.replace("table = \"orders\"", "sql = \"SELECT 1; DROP TABLE orders\""), "catalog.facts[0].sql"),
        (BASE.replace("table = \"orders\"", "table = \"orders\"\npath = \"o.parquet\""), "catalog.facts[0].table"),
        (BASE.replace("id_type = \"phone\"", "id_type = \"email\""), "catalog.exposures.id_type"),
        (BASE.replace("time_col = \"ts\"\ndimensions", "dimensions"), "catalog.exposures"),
    ];
    for (toml, field) in cases {
        let e = err(&toml);
        assert_eq!(e.field(), Some(field), "{e} for\n{toml}");
    }
    // sizes from input are bounded (src/limits.rs): a name, an `in` list
    let long = with_metric(&format!("name = \"{}\"\nkind = \"count\"\nfact = \"orders\"", "m".repeat(201)));
    assert_eq!(err(&long).field(), Some("catalog.metrics[0].name"));
    let values = vec!["\"x\""; liftlab::limits::MAX_IN_VALUES + 1].join(", ");
    let many = with_metric(&format!(
        "name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nfilters = [{{ column = \"status\", op = \"in\", value = [{values}] }}]"
    ));
    let e = err(&many);
    assert_eq!(e.field(), Some("catalog.metrics[0].filters[0].value"), "{e}");
    assert!(e.to_string().ends_with("has 10001 values; at most 10000 are allowed"), "{e}");
    // an identity table gives unionid a path to the exposure's phone
    let ok = BASE.replace("ids = { phone = \"phone\" }", "ids = { unionid = \"unionid\" }")
        + "\n[[catalog.identities]]\ntable = \"bindings\"\nids = { phone = \"p\", unionid = \"u\" }\n";
    assert!(Spec::from_toml(&ok).is_ok());
    // a catalogue metric's name may not repeat a [[metrics]] one
    let dup = with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"")
        + "\n[[metrics]]\nname = \"m\"\nkind = \"binary\"\n";
    assert_eq!(err(&dup).field(), Some("catalog.metrics[0].name"));
}

#[test]
fn compile_errors_name_the_field_and_compile_nothing() {
    let spec = Spec::from_toml(&with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"")).unwrap();
    let e = compile_sql(&spec, "nope", Dialect::Duckdb, &CompileOptions::default()).unwrap_err();
    assert_eq!((e.code(), e.field()), ("not_found", Some("experiment")));
    let bad_date = CompileOptions { start: Some("2025-13-01".into()), ..Default::default() };
    assert_eq!(compile_sql(&spec, "e", Dialect::Duckdb, &bad_date).unwrap_err().field(), Some("start"));
    let injected = CompileOptions { start: Some("2025-01-01' OR 1=1 --".into()), ..Default::default() };
    assert_eq!(compile_sql(&spec, "e", Dialect::Duckdb, &injected).unwrap_err().field(), Some("start"));
    let backwards =
        CompileOptions { start: Some("2025-02-01".into()), end: Some("2025-01-01".into()), ..Default::default() };
    assert_eq!(compile_sql(&spec, "e", Dialect::Duckdb, &backwards).unwrap_err().field(), Some("end"));

    // a file source: DuckDB and ClickHouse read it, PostgreSQL cannot
    let files = Spec::from_toml(
        &with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"")
            .replace("table = \"orders\"", "path = \"data/orders.parquet\""),
    )
    .unwrap();
    assert!(compile_sql(&files, "e", Dialect::Duckdb, &CompileOptions::default())
        .unwrap()
        .sql
        .contains("read_parquet('data/orders.parquet')"));
    assert!(compile_sql(&files, "e", Dialect::Clickhouse, &CompileOptions::default()).is_ok());
    for d in [Dialect::Postgres, Dialect::Bigquery, Dialect::Snowflake] {
        let e = compile_sql(&files, "e", d, &CompileOptions::default()).unwrap_err();
        assert_eq!(e.field(), Some("catalog.facts[0].path"), "{e}");
    }

    // a unit-level metric in a warehouse experiment; a segment that is no dimension
    let mixed = with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"")
        + "\n[[metrics]]\nname = \"paid\"\nkind = \"binary\"\n";
    let e =
        compile_sql(&Spec::from_toml(&mixed).unwrap(), "e", Dialect::Duckdb, &CompileOptions::default()).unwrap_err();
    assert_eq!(e.field(), Some("experiments[0].metrics"));
    let seg = with_metric("name = \"m\"\nkind = \"count\"\nfact = \"orders\"").replace(
        "variants = [\"control\", \"treatment\"]",
        "variants = [\"control\", \"treatment\"]\nanalysis = { segments = [\"city\"] }",
    );
    let e = compile_sql(&Spec::from_toml(&seg).unwrap(), "e", Dialect::Duckdb, &CompileOptions::default()).unwrap_err();
    assert_eq!(e.field(), Some("experiments[0].analysis.segments[0]"));
    let none = Spec::from_toml("[[experiments]]\nkey = \"e\"\nvariants = [\"a\", \"b\"]\n").unwrap();
    assert_eq!(
        compile_sql(&none, "e", Dialect::Duckdb, &CompileOptions::default()).unwrap_err().field(),
        Some("catalog")
    );
}

#[test]
fn keywords_are_quoted_and_values_escaped() {
    let toml = with_metric(
        "name = \"m\"\nkind = \"count\"\nfact = \"orders\"\nfilters = [{ column = \"select\", op = \"=\", value = \"x'); DROP TABLE t; --\" }]",
    )
    .replace("columns = [\"amount\", \"status\"]", "columns = [\"select\"]")
    .replace("table = \"orders\"", "table = \"order.group\"")
    .replace("key = \"e\"", "key = \"e'--\"");
    let spec = Spec::from_toml(&toml).unwrap();
    let pg = compile_sql(&spec, "e'--", Dialect::Postgres, &CompileOptions::default()).unwrap().sql;
    assert!(pg.contains(r#"FROM "order"."group" AS f"#), "{pg}");
    assert!(pg.contains(r#"f."select" = 'x''); DROP TABLE t; --'"#), "{pg}");
    assert!(pg.contains(r#"x."experiment" = 'e''--'"#), "{pg}");
    assert!(pg.contains("-- liftlab: sufficient statistics of experiment e\\'--"), "{pg}");
    let spark = compile_sql(&spec, "e'--", Dialect::Spark, &CompileOptions::default()).unwrap().sql;
    assert!(spark.contains(r"f.`select` = 'x\'); DROP TABLE t; --'"), "{spark}");
}

fn row(cells: &[(&str, Cell)]) -> (Vec<String>, Vec<Cell>) {
    (cells.iter().map(|(c, _)| c.to_string()).collect(), cells.iter().map(|(_, v)| v.clone()).collect())
}

/// The engine's answer of a two-day, one-dimension experiment, read back: the day rows add up
/// to the arms, the timeline is cumulative, dimension rows become segments, and the shifted sums
/// and shifts become the cells' own (mean = shift + Σ(x − shift)/n).
#[test]
fn an_engines_answer_becomes_experiment_data() {
    let toml = with_metric("name = \"revenue\"\nkind = \"sum\"\nfact = \"orders\"\ncolumn = \"amount\"").replace(
        "variants = [\"control\", \"treatment\"]",
        "variants = [\"control\", \"treatment\"]\nanalysis = { segments = [\"channel\"] }",
    );
    let spec = Spec::from_toml(&toml).unwrap();
    let q = compile_sql(&spec, "e", Dialect::Duckdb, &CompileOptions::default()).unwrap();
    assert_eq!(
        q.columns,
        [
            "variant",
            "exposure_day",
            "dim0",
            "n",
            "m0_sum_x",
            "m0_sum_x2",
            "m0_sum_x3",
            "m0_shift_x",
            "multiple_exposures"
        ]
    );
    use Cell::{Null, Num, Text};
    let t = |s: &str| Text(s.to_string());
    // units: control day 1: values 10, 12 ; control day 2: 14 ; treatment day 1: 11, 15, 13 ; shift 12.5
    let s = 12.5;
    let cells = |n: f64, vals: &[f64]| -> [Cell; 4] {
        [
            Num(n),
            Num(vals.iter().map(|v| v - s).sum()),
            Num(vals.iter().map(|v| (v - s) * (v - s)).sum()),
            Num(vals.iter().map(|v| (v - s).powi(3)).sum()),
        ]
    };
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    for (v, day, dim, vals) in [
        ("control", Some("2025-01-01"), None, vec![10.0, 12.0]),
        ("control", Some("2025-01-02"), None, vec![14.0]),
        ("treatment", Some("2025-01-01"), None, vec![11.0, 15.0, 13.0]),
        ("control", None, Some("sms"), vec![10.0, 12.0, 14.0]),
        ("treatment", None, Some("sms"), vec![11.0]),
        ("treatment", None, Some("(missing)"), vec![15.0, 13.0]),
    ] {
        let [n, sx, sx2, sx3] = cells(vals.len() as f64, &vals);
        let (c, r) = row(&[
            ("VARIANT", t(v)),
            ("exposure_day", day.map_or(Null, t)),
            ("dim0", dim.map_or(Null, t)),
            ("n", n),
            ("m0_sum_x", sx),
            ("m0_sum_x2", sx2),
            ("m0_sum_x3", sx3),
            ("m0_shift_x", Num(s)),
            ("multiple_exposures", Num(2.0)),
        ]);
        cols = c;
        rows.push(r);
    }
    let table = StatsTable { columns: cols, rows };
    let data = read_stats(&spec, "e", &table).unwrap();
    assert_eq!(data.exposures, vec![3, 3]);
    assert_eq!(data.multiple_exposures, 2);
    // control 10, 12, 14: mean 12, variance 4; treatment 11, 15, 13: mean 13, variance 4
    let c = &data.metrics[0][0];
    assert_eq!((c.n, c.shift_x, c.sum_x, c.sum_x2), (3, 12.5, -1.5, 8.75));
    assert_eq!((c.mean(0), c.cov(0, 0, 1)), (12.0, 4.0));
    // Σ(x − 12.5)³ = (−2.5)³ + (−0.5)³ + 1.5³, exact in binary; 10, 12, 14 is symmetric
    assert_eq!(c.sum_x3, Some(-12.375));
    assert!(c.skewness().unwrap().abs() < 1e-12, "{:?}", c.skewness());
    let tr = &data.metrics[0][1];
    assert_eq!((tr.n, tr.mean(0), tr.cov(0, 0, 1)), (3, 13.0, 4.0));
    assert_eq!(data.timeline.len(), 2);
    assert_eq!(data.timeline[0].1[0][0].n, 2);
    assert_eq!(data.timeline[1].1[0][0].n, 3);
    assert_eq!(data.timeline[1].1[0][1].n, 3);
    assert_eq!(data.segments["channel"]["(missing)"][0][1].n, 2);
    let report = analyze_experiment(&spec, "e", &data).unwrap();
    assert_eq!(report.metrics[0].arms[0].estimate, Some(12.0));
    assert_eq!(report.segments.len(), 2);

    // what goes wrong is named by column and row
    let mut bad = table.clone();
    bad.rows[1][4] = Null;
    assert_eq!(read_stats(&spec, "e", &bad).unwrap_err().field(), Some("stats.m0_sum_x[1]"));
    let mut bad = table.clone();
    bad.rows[0][0] = t("holdout");
    assert_eq!(read_stats(&spec, "e", &bad).unwrap_err().field(), Some("stats.variant[0]"));
    let mut bad = table.clone();
    bad.columns[5] = "sum_x2".into();
    assert_eq!(read_stats(&spec, "e", &bad).unwrap_err().field(), Some("stats.m0_sum_x2"));
    let mut bad = table.clone();
    bad.columns[6] = "m0_sum_x4".into();
    assert_eq!(read_stats(&spec, "e", &bad).unwrap_err().field(), Some("stats.m0_sum_x3"));

    // the same answer as JSON rows (duckdb -json) and as one object per line (JSONEachRow)
    let json: Vec<serde_json::Value> = table
        .rows
        .iter()
        .map(|r| {
            serde_json::Value::Object(
                table
                    .columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| {
                        let v = match v {
                            Null => serde_json::Value::Null,
                            Num(x) => serde_json::json!(x),
                            Text(s) => serde_json::json!(s),
                        };
                        (c.clone(), v)
                    })
                    .collect(),
            )
        })
        .collect();
    let from_array =
        read_stats(&spec, "e", &StatsTable::from_json(&serde_json::to_string(&json).unwrap()).unwrap()).unwrap();
    assert_eq!(from_array, data);
    let lines: Vec<String> = json.iter().map(|r| r.to_string()).collect();
    assert_eq!(read_stats(&spec, "e", &StatsTable::from_json(&lines.join("\n")).unwrap()).unwrap(), data);
}
