//! `liftlab uplift plan`: the contact policy on the command line, on the hand-computed case of
//! `src/uplift/policy_tests.rs` (value 10; channels sms cost 1, call cost 3):
//!
//! | unit | uplift sms | uplift call | gain sms | gain call |
//! |------|-----------:|------------:|---------:|----------:|
//! | u0   | 0.30       | 0.60        | 2        | 3         |
//! | u1   | 0.25       | 0.50        | 1.5      | 2         |
//! | u2   | 0.05       | 0.20        | −0.5     | −1        |

use std::path::Path;
use std::process::Output;

mod common;

use common::cli::{liftlab, stderr, stdout};

const SCORED: &str = "id,sms,call,uplift\nu0,0.3,0.6,0.3\nu1,0.25,0.5,0.25\nu2,0.05,0.2,0.05\n";

/// `id,channel,uplift,expected_gain,score` rows of a written CSV.
fn rows(path: &Path) -> Vec<(String, String, f64, f64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,channel,uplift,expected_gain,score"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].into(), f[1].into(), f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

fn plan(extra: &[&str], dir: &Path) -> Output {
    let mut args =
        vec!["uplift", "plan", "--scored", "scored.csv", "--uplift-cols", "sms,call", "--cost", "sms=1,call=3"];
    args.extend_from_slice(&["--value", "10", "--id-col", "id", "-o", "contacts.csv"]);
    args.extend_from_slice(extra);
    liftlab(&args, dir)
}

/// (id, channel, expected_gain) of each row, in order.
fn summary(dir: &Path) -> Vec<(String, String, f64)> {
    rows(&dir.join("contacts.csv")).into_iter().map(|r| (r.0, r.1, r.3)).collect()
}

fn same(got: &[(String, String, f64)], want: &[(&str, &str, f64)]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| g.0 == w.0 && g.1 == w.1 && close(g.2, w.2))
}

#[test]
fn plans_with_each_budget_kind() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("scored.csv"), SCORED).unwrap();

    // No budget: each unit's best channel (call), u2 never.
    let o = plan(&[], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = rows(&d.path().join("contacts.csv"));
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0.as_str(), r[0].1.as_str()), ("u0", "call"));
    assert!(close(r[0].2, 0.6) && close(r[0].3, 3.0) && close(r[0].4, 3.0));
    assert!(same(&summary(d.path()), &[("u0", "call", 3.0), ("u1", "call", 2.0)]));
    let out = stdout(&o);
    assert!(out.contains("contacts: 2 of 3 units"), "{out}");
    assert!(out.contains("spend: 6"), "{out}");
    assert!(out.contains("expected net gain: 5"), "{out}");

    // At most one contact: the best unit.
    let o = plan(&["--max-contacts", "1"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(same(&summary(d.path()), &[("u0", "call", 3.0)]));

    // At most 4 spent: u0 call, u1 sms (4.5, the optimum at spend 4).
    let o = plan(&["--max-spend", "4"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(same(&summary(d.path()), &[("u0", "call", 3.0), ("u1", "sms", 1.5)]));
    assert!(stdout(&o).contains("expected net gain: 4.5"), "{}", stdout(&o));

    // Both: one contact, spend 2 → only sms fits.
    let o = plan(&["--max-contacts", "1", "--max-spend", "2"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(same(&summary(d.path()), &[("u0", "sms", 2.0)]));

    // The default channel is the column `uplift`, a single number is its cost; Parquet output.
    let o = liftlab(
        &["uplift", "plan", "--scored", "scored.csv", "--cost", "1", "--value", "10", "-o", "contacts.parquet"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(d.path().join("contacts.parquet")).unwrap().starts_with(b"PAR1"));
    assert!(stdout(&o).contains("contacts: 2 of 3 units"), "{}", stdout(&o));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("scored.csv"), SCORED).unwrap();
    std::fs::write(d.path().join("gap.csv"), "id,sms,call\nu0,0.3,0.6\nu1,,0.5\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cost", "sms=1"], "--cost: no cost for channel 'call'"),
        (vec!["--cost", "sms=1,call=x"], "--cost: 'x' is not a number"),
        (vec!["--cost", "sms=1,call=3,fax=1"], "--cost: 'fax' is not a channel"),
        (vec!["--cost", "2"], "--cost: a single number is for one channel"),
        (vec!["--cost", "sms=-1,call=3"], "--cost"),
        (vec!["--max-spend", "0.5"], "--max-spend: is below the cheapest contact (1)"),
        (vec!["--max-contacts", "0"], "--max-contacts: is below one contact (max_contacts = 0)"),
        (vec!["--value", "-1"], "--value"),
        (vec!["--uplift-cols", "sms,email"], "email"),
        (vec!["--id-col", "customer"], "customer"),
        (vec!["--scored", "gap.csv"], "sms[1]: missing uplift"),
        (vec!["-o", "contacts.txt"], "contacts.txt"),
    ];
    for (changes, want) in cases {
        let mut args: Vec<&str> =
            vec!["uplift", "plan", "--scored", "scored.csv", "--uplift-cols", "sms,call", "--cost", "sms=1,call=3"];
        args.extend_from_slice(&["--value", "10", "--id-col", "id", "-o", "bad.csv"]);
        for pair in changes.chunks(2) {
            match args.iter().position(|a| *a == pair[0]) {
                Some(k) => args[k + 1] = pair[1],
                None => args.extend_from_slice(pair),
            }
        }
        let o = liftlab(&args, d.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err} does not say {want}");
    }
    assert!(!d.path().join("bad.csv").exists());
}

/// Issue 13, item 10 at the CLI: the case (an SMS of cost 0.3 and gain 0.12 under a
/// budget of 0.5, hidden from the greedy's hull by the same unit's call) is sent, and `--value`
/// takes a value per channel. By hand, value sms 5 / call 30: u0 gains sms 0.5, call 15; u1 sms
/// 0.25, call 12; u2 sms −0.75, call 3; at most 4 spent (call 3, sms 1): u0 call + u1 sms = 15.25
/// beats u0 sms + u1 sms (0.75) and any call with nothing else.
#[test]
fn item10_affordable_contacts_are_sent_and_values_may_differ_by_channel() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("one.csv"), "id,sms,call\nu0,0.42,3.0\n").unwrap();
    let args = ["uplift", "plan", "--scored", "one.csv", "--uplift-cols", "sms,call", "--cost", "sms=0.3,call=1"];
    let mut one = args.to_vec();
    one.extend_from_slice(&["--value", "1", "--max-spend", "0.5", "-o", "contacts.csv"]);
    let o = liftlab(&one, d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(same(&summary(d.path()), &[("u0", "sms", 0.12)]), "{:?}", summary(d.path()));

    std::fs::write(d.path().join("scored.csv"), SCORED).unwrap();
    let with_value = |value: &str, extra: &[&str]| {
        let mut args = vec!["uplift", "plan", "--scored", "scored.csv", "--uplift-cols", "sms,call"];
        args.extend_from_slice(&["--cost", "sms=1,call=3", "--id-col", "id", "-o", "contacts.csv", "--value", value]);
        args.extend_from_slice(extra);
        liftlab(&args, d.path())
    };
    let o = with_value("sms=5,call=30", &["--max-spend", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(same(&summary(d.path()), &[("u0", "call", 15.0), ("u1", "sms", 0.25)]), "{:?}", summary(d.path()));
    assert!(stdout(&o).contains("expected net gain: 15.25"), "{}", stdout(&o));
    for (value, want) in [("sms=5", "--value: no value for channel 'call'"), ("sms=5,call=0", "--value")] {
        let o = with_value(value, &[]);
        assert_eq!(o.status.code(), Some(2), "{value}");
        assert!(stderr(&o).contains(want), "{value}: {}", stderr(&o));
    }
}

/// Issue 13, item 11: no `-0.00` in the printed totals (an empty sum of floats is −0.0; a plan
/// with no contact printed `spend: -0.00`); a `NaN` cell (as polars writes a float NaN) is a
/// missing uplift, named like an empty cell.
#[test]
fn item11_totals_never_print_negative_zero_and_nan_cells_are_missing() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("scored.csv"), "id,sms,call\nu0,0.01,0.02\nu1,-0.3,0.05\n").unwrap();
    let o = plan(&[], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("contacts: 0 of 2 units"), "{out}");
    assert!(out.contains("spend: 0.00") && out.contains("expected net gain: 0.00"), "{out}");
    assert!(!out.contains("-0"), "{out}");
    std::fs::write(d.path().join("nan.csv"), "id,sms,call\nu0,0.3,0.6\nu1,NaN,0.5\n").unwrap();
    let mut args: Vec<&str> = vec!["uplift", "plan", "--scored", "nan.csv", "--uplift-cols", "sms,call"];
    args.extend_from_slice(&["--cost", "sms=1,call=3", "--value", "10", "-o", "c.csv"]);
    let o = liftlab(&args, d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sms[1]: missing uplift"), "{}", stderr(&o));
}
