//! `liftlab uplift fit` / `score`: the uplift forest on the command line.

mod common;

use common::cli::{liftlab, stderr};

/// Uniform draws in [0, 1) from xorshift64 (Marsaglia 2003) started at `s`: the same on every run.
fn xorshift(mut s: u64) -> impl FnMut() -> f64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A small training file with a known uplift: +0.2 where x0 > 0 and +0.2 in the city "south", on
/// a base rate of 0.2 (xorshift draws, so the file is the same on every run).
fn training_csv(n: usize) -> String {
    let mut uniform = xorshift(0x9E37_79B9_7F4A_7C15);
    let cities = ["north", "south", "east", "west"];
    let mut out = String::from("id,x0,city,t,y\n");
    for i in 0..n {
        let x0 = uniform() * 2.0 - 1.0;
        let city = cities[(uniform() * 4.0) as usize % 4];
        let t = u8::from(uniform() < 0.5);
        let tau = 0.2 * f64::from(u8::from(x0 > 0.0)) + 0.2 * f64::from(u8::from(city == "south"));
        let y = u8::from(uniform() < 0.2 + f64::from(t) * tau);
        out.push_str(&format!("u{i},{x0},{city},{t},{y}\n"));
    }
    out
}

/// Written with `--id-col`, the deprecated alias of `--unit-col` (tests/cli_snapshots.rs uses the
/// new name), so the alias stays tested until it is removed.
const FIT: &[&str] = &[
    "uplift",
    "fit",
    "--data",
    "train.csv",
    "--treatment-col",
    "t",
    "--outcome-col",
    "y",
    "--id-col",
    "id",
    "--categorical",
    "city",
    "--n-trees",
    "20",
    "--min-samples-leaf",
    "50",
    "-o",
    "model.json",
];

#[test]
fn fit_then_score_writes_ids_and_uplift() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("train.csv"), training_csv(4000)).unwrap();
    let o = liftlab(FIT, d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("model.json")).unwrap()).unwrap();
    assert_eq!(model["format"], "liftlab.uplift_forest");
    assert_eq!(model["format_version"], 1);
    // default features: every column but the id, treatment and outcome ones; categories sorted
    assert_eq!(
        model["features"],
        serde_json::json!([
            {"name": "x0", "categories": null},
            {"name": "city", "categories": ["east", "north", "south", "west"]}
        ])
    );
    assert_eq!(model["forest"]["trees"].as_array().map(Vec::len), Some(20));

    // the pool: the training rows plus a row with an unseen city and one with missing cells
    let mut pool = std::fs::read_to_string(d.path().join("train.csv")).unwrap();
    pool.push_str("new1,0.5,atlantis,,\nnew2,,,,\n");
    std::fs::write(d.path().join("pool.csv"), pool).unwrap();
    let o = liftlab(
        &["uplift", "score", "--model", "model.json", "--data", "pool.csv", "--id-col", "id", "-o", "scored.csv"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.path().join("scored.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,uplift"));
    let rows: Vec<(String, f64)> = lines
        .map(|l| {
            let (id, u) = l.split_once(',').unwrap();
            (id.to_string(), u.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 4002);
    assert_eq!(rows[0].0, "u0");
    assert_eq!(rows[4001].0, "new2");
    assert!(rows.iter().all(|(_, u)| u.is_finite() && u.abs() <= 1.0));
    // the forest finds the categorical effect: "south" scores about 0.2 above the rest
    let train = training_csv(4000);
    let south: Vec<bool> = train.lines().skip(1).map(|l| l.split(',').nth(2) == Some("south")).collect();
    let mean = |want: bool| {
        let v: Vec<f64> = rows.iter().zip(&south).filter(|(_, &s)| s == want).map(|((_, u), _)| *u).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let gap = mean(true) - mean(false);
    assert!(gap > 0.1 && gap < 0.3, "south - rest = {gap}");

    // Parquet output
    let o = liftlab(
        &["uplift", "score", "--model", "model.json", "--data", "pool.csv", "--id-col", "id", "-o", "scored.parquet"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(d.path().join("scored.parquet")).unwrap().starts_with(b"PAR1"));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let d = tempfile::tempdir().unwrap();
    let train = training_csv(400);
    std::fs::write(d.path().join("train.csv"), &train).unwrap();
    // every unit in control
    let control: String = train
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let f: Vec<&str> = l.split(',').collect();
                format!("{},{},{},0,{}\n", f[0], f[1], f[2], f[4])
            }
        })
        .collect();
    std::fs::write(d.path().join("control.csv"), control).unwrap();
    // the core's group rules (uplift::check_groups): one unit of treatment 2, a code of 64
    let with_t = |row: usize, code: &str| -> String {
        let mut lines: Vec<String> = train.lines().map(String::from).collect();
        let mut f: Vec<String> = lines[row].split(',').map(String::from).collect();
        f[3] = code.into();
        lines[row] = f.join(",");
        lines.join("\n") + "\n"
    };
    std::fs::write(d.path().join("single.csv"), with_t(5, "2")).unwrap();
    std::fs::write(d.path().join("code64.csv"), with_t(5, "64")).unwrap();
    // the outcome of row 3 missing
    let nan: String = train
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 4 { format!("{}\n", &l[..l.rfind(',').unwrap() + 1]) } else { format!("{l}\n") })
        .collect();
    std::fs::write(d.path().join("nan.csv"), nan).unwrap();
    let labels = train.replace(",0,", ",none,").replace(",1,", ",sms,");
    std::fs::write(d.path().join("labels.csv"), labels).unwrap();
    assert_eq!(liftlab(FIT, d.path()).status.code(), Some(0));
    std::fs::write(d.path().join("pool.csv"), "id,x0\nu1,0.5\n").unwrap();

    // FIT with some flags' values replaced (a value "" drops the flag) and others added
    let with = |data: &str, changes: &[(&str, &str)]| -> Vec<String> {
        let mut v: Vec<String> = FIT.iter().map(|s| s.to_string()).collect();
        v[3] = data.to_string();
        v[FIT.len() - 1] = "other.json".into();
        for &(flag, value) in changes {
            match v.iter().position(|a| a == flag) {
                Some(k) if value.is_empty() => {
                    v.drain(k..k + 2);
                }
                Some(k) => v[k + 1] = value.to_string(),
                None => v.extend([flag.to_string(), value.to_string()]),
            }
        }
        v
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (with("train.csv", &[("--treatment-col", "treated")]), "treated"),
        (with("train.csv", &[("--features", "x0,income")]), "income"),
        (with("control.csv", &[]), "error: invalid_input: t: every unit has code 0; control (0) and at least one"),
        (with("single.csv", &[]), "error: insufficient_data: t: code 2 has 1 unit; each group needs at least 2"),
        (with("code64.csv", &[]), "t[4]: must be an integer code 0 (control) or 1..=63 (a treatment), got 64"),
        (with("nan.csv", &[]), "y[3]: missing outcome"),
        // a text column not declared categorical
        (with("train.csv", &[("--categorical", "")]), "city[0]"),
        (with("train.csv", &[("--criterion", "gini")]), "criterion"),
        // codes must be integers 0..=63; text labels need --control, which must be a label
        (with("labels.csv", &[]), "t[0]"),
        (with("labels.csv", &[("--control", "nobody")]), "--control"),
        (
            ["uplift", "score", "--model", "model.json", "--data", "pool.csv", "-o", "s.csv"]
                .map(String::from)
                .to_vec(),
            "city",
        ),
        (
            ["uplift", "score", "--model", "train.csv", "--data", "pool.csv", "-o", "s.csv"].map(String::from).to_vec(),
            "train.csv",
        ),
    ];
    for (args, field) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = liftlab(&args, d.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(field), "{args:?}: {err} does not name {field}");
    }
    assert!(!d.path().join("other.json").exists());
}

/// Three groups as text labels: "none" (control), "sms" with uplift +0.25 where x0 > 0, "call" with
/// +0.25 in the city "south"; base rate 0.2 (xorshift draws, the same file on every run).
fn channels_csv(n: usize) -> String {
    let mut uniform = xorshift(0x2545_F491_4F6C_DD1D);
    let cities = ["north", "south", "east", "west"];
    let mut out = String::from("id,x0,city,channel,y\n");
    for i in 0..n {
        let x0 = uniform() * 2.0 - 1.0;
        let city = cities[(uniform() * 4.0) as usize % 4];
        let g = (uniform() * 3.0) as usize % 3;
        let tau = match g {
            1 => 0.25 * f64::from(u8::from(x0 > 0.0)),
            2 => 0.25 * f64::from(u8::from(city == "south")),
            _ => 0.0,
        };
        let y = u8::from(uniform() < 0.2 + tau);
        out.push_str(&format!("u{i},{x0},{city},{},{y}\n", ["none", "sms", "call"][g]));
    }
    out
}

#[test]
fn several_treatments_as_labels_score_one_column_each_and_feed_the_plan() {
    let d = tempfile::tempdir().unwrap();
    let train = channels_csv(9000);
    std::fs::write(d.path().join("train.csv"), &train).unwrap();
    let fit = [
        "uplift",
        "fit",
        "--data",
        "train.csv",
        "--treatment-col",
        "channel",
        "--control",
        "none",
        "--outcome-col",
        "y",
        "--id-col",
        "id",
        "--categorical",
        "city",
        "--n-trees",
        "20",
        "--min-samples-leaf",
        "100",
        "-o",
        "model.json",
    ];
    let o = liftlab(&fit, d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 treatments"), "{}", stderr(&o));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("model.json")).unwrap()).unwrap();
    // the other labels, sorted, are treatments 1 and 2
    assert_eq!(model["treatments"], serde_json::json!(["call", "sms"]));
    assert_eq!(model["forest"]["n_groups"], 3);

    let o = liftlab(
        &["uplift", "score", "--model", "model.json", "--data", "train.csv", "--id-col", "id", "-o", "scored.csv"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.path().join("scored.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,call,sms"));
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    assert_eq!(rows.len(), 9000);
    // each channel's column finds its own effect
    let feats: Vec<(f64, bool)> = train
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2] == "south")
        })
        .collect();
    let gap = |col: usize, pick: &dyn Fn(&(f64, bool)) -> bool| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (r, f) in rows.iter().zip(&feats) {
            let u: f64 = r[col].parse().unwrap();
            if pick(f) {
                a.push(u)
            } else {
                b.push(u)
            }
        }
        a.iter().sum::<f64>() / a.len() as f64 - b.iter().sum::<f64>() / b.len() as f64
    };
    let call_south = gap(1, &|f| f.1);
    let sms_x0 = gap(2, &|f| f.0 > 0.0);
    let call_x0 = gap(1, &|f| f.0 > 0.0);
    assert!(call_south > 0.12, "call: south - rest = {call_south}");
    assert!(sms_x0 > 0.12, "sms: x0 > 0 minus the rest = {sms_x0}");
    assert!(call_x0.abs() < 0.06, "call should not follow x0: {call_x0}");

    // the scored columns are the plan's channels
    let o = liftlab(
        &[
            "uplift",
            "plan",
            "--scored",
            "scored.csv",
            "--uplift-cols",
            "call,sms",
            "--cost",
            "call=2,sms=0.1",
            "--value",
            "20",
            "--max-contacts",
            "1000",
            "-o",
            "plan.csv",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = std::fs::read_to_string(d.path().join("plan.csv")).unwrap();
    let used: std::collections::BTreeSet<&str> = plan.lines().skip(1).filter_map(|l| l.split(',').nth(1)).collect();
    assert!(used.contains("sms") && used.contains("call"), "{used:?}");
}

/// Issue 13, item 11 at the CLI: a `NaN` feature cell (as polars writes a float NaN) is a missing
/// value, as in Python, so fitting and scoring give the same forest and scores as with empty
/// cells (exact equality: the same bins); `uplift score` on a header-only file exits 2 naming
/// the rows; a CSV cut off in the middle of its last number exits 2 naming the cell; and
/// (issue 12) a forest size beyond its documented limit exits 2 naming the flag.
#[test]
fn item11_nan_cells_header_only_files_and_cut_off_files() {
    let d = tempfile::tempdir().unwrap();
    let text = training_csv(2000);
    // every 7th x0 missing, once as NaN and once as an empty cell
    let with = |missing: &str| -> String {
        text.lines()
            .enumerate()
            .map(|(k, l)| {
                if k > 0 && k % 7 == 0 {
                    let mut f: Vec<&str> = l.split(',').collect();
                    f[1] = missing;
                    f.join(",")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let mut scores = Vec::new();
    for (name, missing) in [("nan", "NaN"), ("empty", "")] {
        std::fs::write(d.path().join("train.csv"), with(missing)).unwrap();
        let o = liftlab(FIT, d.path());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let o = liftlab(
            &["uplift", "score", "--model", "model.json", "--data", "train.csv", "--id-col", "id", "-o", "s.csv"],
            d.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        scores.push(std::fs::read_to_string(d.path().join("s.csv")).unwrap());
    }
    assert_eq!(scores[0], scores[1]);

    std::fs::write(d.path().join("header.csv"), "id,x0,city,t,y\n").unwrap();
    let o = liftlab(&["uplift", "score", "--model", "model.json", "--data", "header.csv", "-o", "h.csv"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("no rows"), "{}", stderr(&o));

    // the last row cut off after "0.12" of its last number, no line break
    std::fs::write(d.path().join("cut.csv"), "id,city,x0\nu0,north,0.5\nu1,south,0.12").unwrap();
    let o = liftlab(&["uplift", "score", "--model", "model.json", "--data", "cut.csv", "-o", "c.csv"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("x0[1]") && stderr(&o).contains("cut off"), "{}", stderr(&o));

    for (flag, value) in [("--n-trees", "20000"), ("--max-depth", "65"), ("--max-bins", "300")] {
        let mut args = FIT.to_vec();
        match args.iter().position(|a| *a == flag) {
            Some(k) => args[k + 1] = value,
            None => args.extend_from_slice(&[flag, value]),
        }
        let o = liftlab(&args, d.path());
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains(&format!("{flag}:")), "{flag}: {}", stderr(&o));
    }
}

#[test]
fn the_old_trees_flag_is_a_hidden_alias_of_n_trees() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("train.csv"), training_csv(600)).unwrap();
    let old: Vec<&str> = FIT.iter().map(|a| if *a == "--n-trees" { "--trees" } else { a }).collect();
    let mut old = old;
    *old.last_mut().unwrap() = "old.json";
    let o = liftlab(&old, d.path());
    assert_eq!(o.status.code(), Some(0));
    // the old names still work, and say once each which name replaces them
    let warned = stderr(&o);
    for line in [
        "warning: --trees is deprecated: use --n-trees (the old name goes in the next release)",
        "warning: --id-col is deprecated: use --unit-col (the old name goes in the next release)",
    ] {
        assert_eq!(warned.matches(line).count(), 1, "{warned}");
    }
    let new: Vec<&str> = FIT.iter().map(|a| if *a == "--id-col" { "--unit-col" } else { a }).collect();
    let o = liftlab(&new, d.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("deprecated"), "{}", stderr(&o));
    let read = |f: &str| std::fs::read_to_string(d.path().join(f)).unwrap();
    assert_eq!(read("old.json"), read("model.json"));
    let help = liftlab(&["uplift", "fit", "--help"], d.path());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--n-trees") && !help.contains("--trees"), "{help}");
}
