//! GrowthBook's cross-SDK test suite (`../shared/reference/growthbook-cases.json`, spec 0.8.0,
//! MIT-licensed, from growthbook/growthbook `packages/sdk-js/test/cases.json`), replayed against
//! liftlab's assignment engine. Every GrowthBook SDK must pass it; liftlab passes the `hash`,
//! `getBucketRange`, `chooseVariation`, `inNamespace`, `evalCondition` and `run` sections except
//! for the cases listed in `DELIBERATE` below, each with the reason liftlab differs.
//!
//! Hash values in the suite are rounded (3 or 4 decimals, as GrowthBook's buckets are): liftlab's
//! values must match exactly, since the bucket count is 1,000 (v1) or 10,000 (v2).

mod common;

use liftlab::assign::{self, HashVersion, Reason, SavedGroups};
use liftlab::spec::{ExperimentSpec, FilterSpec, Spec, SpecFile};
use serde_json::{json, Value};

/// Cases where liftlab deliberately differs from the GrowthBook SDKs, by section and name.
const DELIBERATE: &[(&str, &str, &str)] = &[
    ("hash", "", "unknown hash version 99: liftlab rejects it with an error instead of returning null"),
    ("getBucketRange", "negative coverage", "coverage outside [0, 1] is an error, not clamped"),
    ("getBucketRange", "coverage above 1", "coverage outside [0, 1] is an error, not clamped"),
    ("getBucketRange", "weights sum below 1", "weights not summing to 1 are an error, not replaced by equal weights"),
    ("getBucketRange", "weights sum above 1", "weights not summing to 1 are an error, not replaced by equal weights"),
    ("getBucketRange", "weights.length not equal to num variations", "weights of the wrong length are an error"),
    ("run", "empty id", "an empty unit id is an error naming the field, not a silent non-enrolment"),
    ("run", "null id", "an empty unit id is an error naming the field, not a silent non-enrolment"),
    ("run", "missing id", "an empty unit id is an error naming the field, not a silent non-enrolment"),
    ("run", "missing attributes", "an empty unit id is an error naming the field, not a silent non-enrolment"),
    ("run", "single variation", "a spec with fewer than 2 variants is rejected when it is loaded"),
    ("run", "querystring force", "URL query-string overrides are a browser-SDK feature; liftlab forces per unit (`forced`)"),
    ("run", "querystring force with inactive", "URL query-string overrides are a browser-SDK feature"),
    ("run", "Skips experiments in QA mode", "QA mode is an SDK client setting; liftlab has per-unit forcing"),
    ("run", "Works in QA mode if forced in experiment", "experiment-wide `force` is not offered: ship a winner by changing weights"),
    ("run", "negative forced variation", "experiment-wide `force` is not offered"),
    ("run", "high forced variation", "experiment-wide `force` is not offered"),
    ("run", "Prerequisite condition fails", "prerequisite feature flags need a feature-flag SDK; liftlab assigns experiments only (the passing case agrees only because nothing is checked)"),
];

fn deliberate(section: &str, name: &str) -> bool {
    DELIBERATE.iter().any(|(s, n, _)| *s == section && *n == name)
}

fn cases(section: &str) -> Vec<Vec<Value>> {
    let all = common::shared_json("reference/growthbook-cases.json");
    all[section].as_array().unwrap().iter().map(|c| c.as_array().unwrap().clone()).collect()
}

fn ranges_of(v: &Value) -> Vec<(f64, f64)> {
    v.as_array().unwrap().iter().map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap())).collect()
}

#[test]
fn hash_section() {
    let mut checked = 0;
    for c in cases("hash") {
        let (seed, value, version, expected) =
            (c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].as_i64().unwrap(), &c[3]);
        match HashVersion::from_number(version, "version") {
            Ok(v) => {
                let got = assign::hash_unit(seed, value, v);
                assert_eq!(got, expected.as_f64().unwrap(), "hash({seed:?}, {value:?}, {version})");
                checked += 1;
            }
            Err(e) => {
                assert!(expected.is_null() && deliberate("hash", ""), "{seed} {value} {version}: {e}");
                assert_eq!(e.field(), Some("version"));
            }
        }
    }
    assert_eq!(checked, 14);
}

#[test]
fn get_bucket_range_section() {
    let mut checked = 0;
    for c in cases("getBucketRange") {
        let name = c[0].as_str().unwrap();
        let args = c[1].as_array().unwrap();
        let n = args[0].as_u64().unwrap() as usize;
        let coverage = args[1].as_f64().unwrap();
        let weights: Option<Vec<f64>> = args[2].as_array().map(|w| w.iter().map(|x| x.as_f64().unwrap()).collect());
        let got = assign::bucket_ranges(n, coverage, weights.as_deref());
        if deliberate("getBucketRange", name) {
            let e = got.expect_err(name);
            assert!(matches!(e.field(), Some("coverage") | Some("weights")), "{name}: {e}");
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = ranges_of(&c[2]);
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            // The suite's figures are rounded to 8 decimals; ours are the exact sums.
            assert!((g.0 - w.0).abs() < 1e-8 && (g.1 - w.1).abs() < 1e-8, "{name}: {got:?} vs {want:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn choose_variation_section() {
    for c in cases("chooseVariation") {
        let got = assign::choose_variant(c[1].as_f64().unwrap(), &ranges_of(&c[2]));
        let want = c[3].as_i64().unwrap();
        assert_eq!(got.map_or(-1, |i| i as i64), want, "{}", c[0]);
    }
}

#[test]
fn in_namespace_section() {
    for c in cases("inNamespace") {
        let ns = c[2].as_array().unwrap();
        let got = assign::in_namespace(
            c[1].as_str().unwrap(),
            ns[0].as_str().unwrap(),
            ns[1].as_f64().unwrap(),
            ns[2].as_f64().unwrap(),
        );
        assert_eq!(got, c[3].as_bool().unwrap(), "{}", c[0]);
    }
}

#[test]
fn get_equal_weights_section() {
    for c in cases("getEqualWeights") {
        let n = c[0].as_i64().unwrap();
        let got = assign::hash::equal_weights(n.max(0) as usize);
        let want: Vec<f64> = c[1].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-8, "{n}: {got:?}");
        }
    }
}

#[test]
fn eval_condition_section() {
    let all = cases("evalCondition");
    assert_eq!(all.len(), 248);
    for c in all {
        let groups: SavedGroups = c.get(4).map(|g| serde_json::from_value(g.clone()).unwrap()).unwrap_or_default();
        let got = assign::eval_condition(&c[1], &c[2], &groups).unwrap();
        assert_eq!(got, c[3].as_bool().unwrap(), "{}: {} on {}", c[0], c[1], c[2]);
    }
}

/// Translates a GrowthBook context + experiment into a liftlab spec and unit.
fn translate(ctx: &Value, exp: &Value) -> (SpecFile, Option<String>, Value) {
    let attrs = ctx.get("attributes").cloned().unwrap_or(json!({}));
    let hash_attr = exp.get("hashAttribute").and_then(Value::as_str).unwrap_or("id").to_string();
    let unit_id = match attrs.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let n = exp["variations"].as_array().unwrap().len();
    let key = exp["key"].as_str().unwrap().to_string();
    let filters: Vec<FilterSpec> = exp
        .get("filters")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .map(|f| FilterSpec {
                    seed: f["seed"].as_str().unwrap().into(),
                    attribute: f.get("attribute").and_then(Value::as_str).map(str::to_string),
                    hash_version: f.get("hashVersion").and_then(Value::as_i64),
                    ranges: f["ranges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| [r[0].as_f64().unwrap(), r[1].as_f64().unwrap()])
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    // GrowthBook ignores the namespace when filters are given.
    let namespace = if filters.is_empty() { exp.get("namespace").and_then(Value::as_array) } else { None };
    let mut forced = std::collections::BTreeMap::new();
    if let (Some(v), Some(id)) =
        (ctx.get("forcedVariations").and_then(|f| f.get(&key)).and_then(Value::as_u64), &unit_id)
    {
        forced.insert(id.clone(), format!("v{v}"));
    }
    let active = exp.get("active").and_then(Value::as_bool).unwrap_or(true)
        && ctx.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let x = ExperimentSpec {
        key: key.clone(),
        seed: exp.get("seed").and_then(Value::as_str).map(str::to_string),
        hash_version: Some(exp.get("hashVersion").and_then(Value::as_i64).unwrap_or(1)),
        hash_attribute: Some(hash_attr),
        variants: (0..n).map(|i| format!("v{i}")).collect(),
        weights: exp.get("weights").and_then(Value::as_array).map(|w| w.iter().map(|x| x.as_f64().unwrap()).collect()),
        coverage: exp.get("coverage").and_then(Value::as_f64),
        ranges: exp
            .get("ranges")
            .and_then(Value::as_array)
            .map(|rs| rs.iter().map(|r| [r[0].as_f64().unwrap(), r[1].as_f64().unwrap()]).collect()),
        layer: namespace.map(|ns| ns[0].as_str().unwrap().to_string()),
        namespace_range: namespace.map(|ns| [ns[1].as_f64().unwrap(), ns[2].as_f64().unwrap()]),
        filters,
        condition: exp.get("condition").cloned(),
        forced,
        active: Some(active),
        ..Default::default()
    };
    let groups = ctx.get("savedGroups").map(|g| serde_json::from_value(g.clone()).unwrap()).unwrap_or_default();
    (SpecFile { experiments: vec![x], groups, ..Default::default() }, unit_id, attrs)
}

#[test]
fn run_section() {
    let mut checked = 0;
    for c in cases("run") {
        let name = c[0].as_str().unwrap();
        let (ctx, exp, value, in_exp, hash_used) =
            (&c[1], &c[2], &c[3], c[4].as_bool().unwrap(), c[5].as_bool().unwrap());
        let variations = exp["variations"].as_array().unwrap();
        let (file, unit_id, attrs) = translate(ctx, exp);
        let spec = Spec::from_file(file);
        if deliberate("run", name) {
            // Deliberate differences must really differ (or be refused), so this list stays honest.
            let differs = match (&spec, &unit_id) {
                (Err(_), _) | (_, None) => true,
                (Ok(spec), Some(id)) => {
                    let a = assign::assign_experiment(spec, exp["key"].as_str().unwrap(), id, Some(&attrs)).unwrap();
                    a.reason.enrolled() != in_exp
                        || (in_exp
                            && (variations[a.variant_index.unwrap()] != *value
                                || (a.reason == Reason::Assigned) != hash_used))
                }
            };
            assert!(differs, "{name} is listed as a deliberate difference but liftlab agrees with GrowthBook");
            continue;
        }
        let spec = spec.unwrap_or_else(|e| panic!("{name}: {e}"));
        let unit_id = unit_id.unwrap_or_else(|| panic!("{name}: no id"));
        let a = assign::assign_experiment(&spec, exp["key"].as_str().unwrap(), &unit_id, Some(&attrs)).unwrap();
        assert_eq!(a.reason.enrolled(), in_exp, "{name}: {a:?}");
        if in_exp {
            assert_eq!(variations[a.variant_index.unwrap()], *value, "{name}: {a:?}");
            // GrowthBook's hashUsed: the hash decided, rather than a forced override.
            assert_eq!(a.reason == Reason::Assigned, hash_used, "{name}: {a:?}");
        }
        checked += 1;
    }
    let listed = DELIBERATE.iter().filter(|(s, _, _)| *s == "run").count();
    assert_eq!(checked + listed, 73, "every run case is either checked or listed");
}

/// Issue 13, item 1: a whole-number float (a pandas id column that once held a NaN is float64) is
/// hashed as JavaScript's `String()` prints it, `"47593751"`, as GrowthBook's SDKs do, not as
/// `"47593751.0"`; a boolean hash attribute leaves the unit out, as GrowthBook's `isHashable`
/// does. Reference: ECMAScript `Number::toString` prints an integer-valued double below 1e21 as
/// its integer digits, computed here with integer formatting (independent of liftlab's printer);
/// the four-door fixture checks more numbers against GrowthBook's Python SDK. Exact equality:
/// buckets are multiples of 1/10,000.
#[test]
fn item1_whole_number_float_ids_and_attributes_hash_as_javascript_prints_them() {
    let spec = Spec::from_toml(
        "[[experiments]]\nkey = \"by-id\"\nvariants = [\"c\", \"t\"]\n\
         [[experiments]]\nkey = \"by-company\"\nvariants = [\"c\", \"t\"]\nhash_attribute = \"company_id\"\n",
    )
    .unwrap();
    let v2 = HashVersion::V2;
    let mut naive_differs = 0;
    for i in 0..2000i64 {
        let x = (47_593_751 + i) as f64;
        let digits = (47_593_751 + i).to_string();
        let id = assign::unit_id_from_json(&json!(x), "unit_id").unwrap();
        assert_eq!(id, digits);
        let by_id = assign::assign_experiment(&spec, "by-id", &id, None).unwrap();
        assert_eq!(by_id.bucket, Some(assign::hash_unit("by-id", &digits, v2)), "{x}");
        let attrs = json!({"company_id": x});
        let by_company = assign::assign_experiment(&spec, "by-company", "u", Some(&attrs)).unwrap();
        assert_eq!(by_company.bucket, Some(assign::hash_unit("by-company", &digits, v2)), "{x}");
        let choose = |h: f64| assign::choose_variant(h, &[(0.0, 0.5), (0.5, 1.0)]);
        if choose(assign::hash_unit("by-id", &format!("{x:.1}"), v2)) != choose(by_id.bucket.unwrap()) {
            naive_differs += 1;
        }
    }
    // The old text ("47593751.0") put about half of these units in the other variant: the test
    // can tell the two apart.
    assert!(naive_differs > 500, "{naive_differs}");
    for flag in [json!(true), json!(false)] {
        let a = assign::assign_experiment(&spec, "by-company", "u", Some(&json!({"company_id": flag}))).unwrap();
        assert_eq!((a.reason, a.variant), (Reason::MissingAttribute, None), "{flag}");
    }
}

/// Issue 13, item 2: an empty `seed` falls back to the experiment key, as GrowthBook's SDKs hash
/// with `experiment.seed || experiment.key` (growthbook 4.0.0, `core.py` `_run_experiment`);
/// holdouts do the same. Exact equality of buckets.
#[test]
fn item2_empty_seed_falls_back_to_the_key() {
    let spec = Spec::from_toml(
        "[[holdouts]]\nkey = \"h\"\nseed = \"\"\nshare = 0.5\n\
         [[experiments]]\nkey = \"call-script\"\nseed = \"\"\nvariants = [\"c\", \"t\"]\n",
    )
    .unwrap();
    assert_eq!(spec.experiments[0].seed, "call-script");
    assert_eq!(spec.holdouts[0].seed, "h");
    let mut differs = 0;
    for i in 0..3040 {
        let id = format!("+1555{i:07}");
        let a = assign::assign_experiment(&spec, "call-script", &id, None).unwrap();
        let held = assign::hash_unit("h", &id, HashVersion::V2) < 0.5;
        assert_eq!(a.reason == Reason::InHoldout, held, "{id}");
        if !held {
            assert_eq!(a.bucket, Some(assign::hash_unit("call-script", &id, HashVersion::V2)), "{id}");
        }
        if (assign::hash_unit("", &id, HashVersion::V2) < 0.5)
            != (assign::hash_unit("call-script", &id, HashVersion::V2) < 0.5)
        {
            differs += 1;
        }
    }
    assert!(differs > 1000, "{differs}: the empty seed and the key must put many units apart for this test to bite");
}

/// Issue 13, item 4: liftlab's `hash_version` defaults to 2 while a GrowthBook `Experiment`
/// defined in code defaults to 1 (the cross-SDK suite's `run` cases without `hashVersion` are
/// version-1 buckets, which `translate` above makes explicit). The difference is stated where the
/// field is documented and in the README's GrowthBook notes.
#[test]
fn item4_default_hash_version_differs_from_growthbook_and_is_documented() {
    let spec = Spec::from_toml("[[experiments]]\nkey = \"k\"\nvariants = [\"c\", \"t\"]\n").unwrap();
    assert_eq!(spec.experiments[0].hash_version, HashVersion::V2);
    // a `run` case without hashVersion is decided by version 1 in GrowthBook
    let v1_cases = cases("run").iter().filter(|c| c[2].get("hashVersion").is_none()).count();
    assert!(v1_cases > 10, "{v1_cases}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let spec_docs = std::fs::read_to_string(root.join("src/spec/mod.rs")).unwrap();
    let section =
        readme.split("GrowthBook compatibility").nth(1).expect("README has a GrowthBook compatibility section");
    let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(section.contains("`hash_version` defaults to 2") && section.contains("defaults to 1"), "README");
    assert!(spec_docs.contains("defaults to **2**") && spec_docs.contains("defaults to **1**"), "src/spec/mod.rs");
}
