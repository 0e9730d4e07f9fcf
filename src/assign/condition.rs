//! Targeting conditions: GrowthBook's MongoDB-style condition language.
//!
//! A condition is a JSON object; each key is either a logical operator (`$and`, `$or`, `$nor`,
//! `$not`) or a dotted attribute path (`address.country`) whose value is a literal to compare or an
//! object of operators: `$eq $ne $gt $gte $lt $lte $in $nin $ini $nini $all $alli $elemMatch $size
//! $exists $type $not $regex $regexi $veq $vne $vgt $vgte $vlt $vlte $inGroup $notInGroup`.
//!
//! Semantics follow GrowthBook's SDKs to the letter, including JavaScript's comparison rules (a
//! missing attribute compares as `null`, which `<`/`>` treat as 0; a number and a numeric string
//! compare as numbers; two strings compare by UTF-16 code units), so that targeting evaluated by
//! liftlab agrees with an app using a GrowthBook SDK. `tests/growthbook_cases.rs` replays the
//! `evalCondition` section of GrowthBook's cross-SDK suite.
//!
//! A condition is parsed once ([`Condition::parse`]) and evaluated many times. Parsing is lenient,
//! as in the SDKs (an unknown operator or a broken regex simply never matches);
//! [`Condition::validate`] is the strict check the experiment spec applies, so that a typo in a
//! spec is an error naming the field instead of an experiment that silently enrols nobody.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Named lists of values for `$inGroup` / `$notInGroup` (GrowthBook's "saved groups").
pub type SavedGroups = BTreeMap<String, Vec<Value>>;

/// A parsed condition (a conjunction of clauses).
#[derive(Clone, Debug)]
pub struct Condition {
    clauses: Vec<Clause>,
    source: Value,
}

#[derive(Clone, Debug)]
enum Clause {
    Or(Vec<Condition>),
    Nor(Vec<Condition>),
    And(Vec<Condition>),
    Not(Box<Condition>),
    /// A logical operator whose operand has the wrong shape: never passes.
    Broken(String),
    Path(String, ValueCond),
}

#[derive(Clone, Debug)]
enum ValueCond {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// Arrays and non-operator objects: equality of their JSON text.
    Json(String),
    Ops(Vec<Op>),
}

#[derive(Clone, Debug)]
enum Op {
    Version(VersionOp, String),
    Eq(Value),
    Ne(Value),
    Cmp(CmpOp, Value),
    Exists(bool),
    In(Option<Vec<Value>>, bool),
    Nin(Option<Vec<Value>>, bool),
    InGroup(String, bool),
    Not(Box<ValueCond>),
    Size(Box<ValueCond>),
    ElemMatch(ElemMatch),
    All(Vec<ValueCond>, bool),
    Regex(Option<Regex>, String),
    Type(String),
    Unknown(String),
}

#[derive(Clone, Copy, Debug)]
enum VersionOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Copy, Debug)]
enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Debug)]
enum ElemMatch {
    Value(Box<ValueCond>),
    Object(Box<Condition>),
}

impl Condition {
    /// Parses a condition object. Fails only when the condition is not a JSON object.
    pub fn parse(value: &Value) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Self::from_map(map, value)),
            other => Err(Error::invalid("condition", format!("must be a JSON object, got {}", js_type(other)))),
        }
    }

    /// A condition that every unit passes.
    pub fn always() -> Self {
        Condition { clauses: Vec::new(), source: Value::Object(Map::new()) }
    }

    /// The JSON this condition was parsed from.
    pub fn source(&self) -> &Value {
        &self.source
    }

    fn from_map(map: &Map<String, Value>, source: &Value) -> Self {
        let clauses = map
            .iter()
            .map(|(k, v)| match k.as_str() {
                "$or" | "$nor" | "$and" => match v {
                    Value::Array(items) => {
                        let conds = items.iter().map(Self::parse_lenient).collect();
                        match k.as_str() {
                            "$or" => Clause::Or(conds),
                            "$nor" => Clause::Nor(conds),
                            _ => Clause::And(conds),
                        }
                    }
                    _ => Clause::Broken(format!("{k} needs an array of conditions")),
                },
                "$not" => Clause::Not(Box::new(Self::parse_lenient(v))),
                path => Clause::Path(path.to_string(), ValueCond::parse(v)),
            })
            .collect();
        Condition { clauses, source: source.clone() }
    }

    fn parse_lenient(v: &Value) -> Condition {
        match v {
            Value::Object(map) => Self::from_map(map, v),
            // Object.entries of a non-object has no clauses in the SDKs, except arrays/strings,
            // which GrowthBook never produces; treat anything else as "never matches".
            _ => Condition { clauses: vec![Clause::Broken("condition must be an object".into())], source: v.clone() },
        }
    }

    /// Evaluates the condition against a unit's attributes.
    pub fn eval(&self, attributes: &Value, groups: &SavedGroups) -> bool {
        self.clauses.iter().all(|c| match c {
            Clause::Or(conds) => conds.is_empty() || conds.iter().any(|c| c.eval(attributes, groups)),
            Clause::Nor(conds) => !conds.iter().any(|c| c.eval(attributes, groups)),
            Clause::And(conds) => conds.iter().all(|c| c.eval(attributes, groups)),
            Clause::Not(c) => !c.eval(attributes, groups),
            Clause::Broken(_) => false,
            Clause::Path(path, vc) => vc.eval(get_path(attributes, path), groups),
        })
    }

    /// The strict check applied to specs: unknown operators, broken regular expressions, operands
    /// of the wrong type and unknown saved groups are errors naming the path inside the condition.
    pub fn validate(&self, groups: &SavedGroups) -> Result<()> {
        for c in &self.clauses {
            match c {
                Clause::Or(cs) | Clause::Nor(cs) | Clause::And(cs) => {
                    for (i, sub) in cs.iter().enumerate() {
                        sub.validate(groups).map_err(|e| e.within(format!("[{i}]")))?;
                    }
                }
                Clause::Not(sub) => sub.validate(groups).map_err(|e| e.within("$not"))?,
                Clause::Broken(why) => return Err(Error::invalid("", why)),
                Clause::Path(path, vc) => vc.validate(groups).map_err(|e| e.within(path))?,
            }
        }
        Ok(())
    }
}

impl ValueCond {
    fn parse(v: &Value) -> ValueCond {
        match v {
            Value::String(s) => ValueCond::Str(s.clone()),
            Value::Number(n) => ValueCond::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => ValueCond::Bool(*b),
            Value::Null => ValueCond::Null,
            Value::Object(map) if is_operator_object(map) => {
                ValueCond::Ops(map.iter().map(|(op, expected)| Op::parse(op, expected)).collect())
            }
            other => ValueCond::Json(js_stringify(other)),
        }
    }

    fn eval(&self, actual: &Value, groups: &SavedGroups) -> bool {
        match self {
            ValueCond::Str(s) => js_to_string(actual) == *s,
            ValueCond::Num(n) => js_to_number(actual) == *n,
            ValueCond::Bool(b) => !actual.is_null() && js_truthy(actual) == *b,
            ValueCond::Null => actual.is_null(),
            ValueCond::Json(text) => js_stringify(actual) == *text,
            ValueCond::Ops(ops) => ops.iter().all(|op| op.eval(actual, groups)),
        }
    }

    fn validate(&self, groups: &SavedGroups) -> Result<()> {
        match self {
            ValueCond::Ops(ops) => ops.iter().try_for_each(|op| op.validate(groups)),
            _ => Ok(()),
        }
    }
}

fn is_operator_object(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

impl Op {
    fn parse(op: &str, expected: &Value) -> Op {
        let version = |o| Op::Version(o, js_to_string(expected));
        let list = |v: &Value| v.as_array().cloned();
        match op {
            "$veq" => version(VersionOp::Eq),
            "$vne" => version(VersionOp::Ne),
            "$vgt" => version(VersionOp::Gt),
            "$vgte" => version(VersionOp::Gte),
            "$vlt" => version(VersionOp::Lt),
            "$vlte" => version(VersionOp::Lte),
            "$eq" => Op::Eq(expected.clone()),
            "$ne" => Op::Ne(expected.clone()),
            "$gt" => Op::Cmp(CmpOp::Gt, expected.clone()),
            "$gte" => Op::Cmp(CmpOp::Gte, expected.clone()),
            "$lt" => Op::Cmp(CmpOp::Lt, expected.clone()),
            "$lte" => Op::Cmp(CmpOp::Lte, expected.clone()),
            "$exists" => Op::Exists(js_truthy(expected)),
            "$in" => Op::In(list(expected), false),
            "$ini" => Op::In(list(expected), true),
            "$nin" => Op::Nin(list(expected), false),
            "$nini" => Op::Nin(list(expected), true),
            "$inGroup" => Op::InGroup(js_to_string(expected), true),
            "$notInGroup" => Op::InGroup(js_to_string(expected), false),
            "$not" => Op::Not(Box::new(ValueCond::parse(expected))),
            "$size" => Op::Size(Box::new(ValueCond::parse(expected))),
            "$elemMatch" => Op::ElemMatch(match expected {
                Value::Object(map) if is_operator_object(map) => ElemMatch::Value(Box::new(ValueCond::parse(expected))),
                _ => ElemMatch::Object(Box::new(Condition::parse_lenient(expected))),
            }),
            "$all" | "$alli" => Op::All(
                expected.as_array().map(|a| a.iter().map(ValueCond::parse).collect()).unwrap_or_default(),
                op == "$alli",
            ),
            "$regex" | "$regexi" => {
                let pattern = js_to_string(expected);
                let built = if op == "$regexi" { format!("(?i){pattern}") } else { pattern.clone() };
                Op::Regex(Regex::new(&built).ok(), pattern)
            }
            "$type" => Op::Type(js_to_string(expected)),
            other => Op::Unknown(other.to_string()),
        }
    }

    fn eval(&self, actual: &Value, groups: &SavedGroups) -> bool {
        match self {
            Op::Version(op, expected) => {
                let (a, e) = (padded_version(actual), padded_version(&Value::String(expected.clone())));
                match op {
                    VersionOp::Eq => a == e,
                    VersionOp::Ne => a != e,
                    VersionOp::Gt => a > e,
                    VersionOp::Gte => a >= e,
                    VersionOp::Lt => a < e,
                    VersionOp::Lte => a <= e,
                }
            }
            Op::Eq(e) => js_strict_eq(actual, e),
            Op::Ne(e) => !js_strict_eq(actual, e),
            Op::Cmp(op, e) => match op {
                CmpOp::Gt => js_less(e, actual, false),
                CmpOp::Gte => js_less(e, actual, true),
                CmpOp::Lt => js_less(actual, e, false),
                CmpOp::Lte => js_less(actual, e, true),
            },
            Op::Exists(want) => *want != actual.is_null(),
            Op::In(list, insensitive) => list.as_ref().is_some_and(|l| is_in(actual, l, *insensitive)),
            Op::Nin(list, insensitive) => list.as_ref().is_some_and(|l| !is_in(actual, l, *insensitive)),
            Op::InGroup(name, member) => {
                let inside = groups.get(name).is_some_and(|l| is_in(actual, l, false));
                inside == *member
            }
            Op::Not(vc) => !vc.eval(actual, groups),
            Op::Size(vc) => match actual {
                Value::Array(items) => vc.eval(&Value::from(items.len()), groups),
                _ => false,
            },
            Op::ElemMatch(m) => match actual {
                Value::Array(items) => items.iter().filter(|v| js_truthy(v)).any(|v| match m {
                    ElemMatch::Value(vc) => vc.eval(v, groups),
                    ElemMatch::Object(c) => c.eval(v, groups),
                }),
                _ => false,
            },
            Op::All(expected, insensitive) => match actual {
                Value::Array(items) => expected.iter().all(|vc| {
                    items.iter().any(|a| match (vc, insensitive) {
                        (ValueCond::Str(s), true) => a.as_str().is_some_and(|a| a.to_lowercase() == s.to_lowercase()),
                        _ => vc.eval(a, groups),
                    })
                }),
                _ => false,
            },
            Op::Regex(re, _) => re.as_ref().is_some_and(|re| re.is_match(&js_to_string(actual))),
            Op::Type(t) => js_type(actual) == t,
            Op::Unknown(_) => false,
        }
    }

    fn validate(&self, groups: &SavedGroups) -> Result<()> {
        match self {
            Op::Unknown(op) => Err(Error::invalid("", format!("unknown operator {op}"))),
            Op::Regex(None, pattern) => Err(Error::invalid("", format!("invalid regular expression {pattern:?}"))),
            Op::In(None, _) | Op::Nin(None, _) => Err(Error::invalid("", "$in / $nin / $ini / $nini need an array")),
            Op::InGroup(name, _) if !groups.contains_key(name) => {
                Err(Error::invalid("", format!("unknown saved group '{name}' (define it under [groups])")))
            }
            Op::Type(t)
                if !["string", "number", "boolean", "object", "array", "null", "undefined"].contains(&t.as_str()) =>
            {
                Err(Error::invalid("", format!("unknown $type '{t}'")))
            }
            Op::Not(vc) | Op::Size(vc) => vc.validate(groups),
            Op::ElemMatch(ElemMatch::Value(vc)) => vc.validate(groups),
            Op::ElemMatch(ElemMatch::Object(c)) => c.validate(groups),
            Op::All(vcs, _) => vcs.iter().try_for_each(|vc| vc.validate(groups)),
            _ => Ok(()),
        }
    }
}

static NULL: Value = Value::Null;

/// Follows a dotted path through objects (and arrays, by index), as JavaScript's `a.b.c` lookup
/// does; anything missing is `null`.
fn get_path<'a>(obj: &'a Value, path: &str) -> &'a Value {
    let mut current = obj;
    for part in path.split('.') {
        current = match current {
            Value::Object(map) => match map.get(part) {
                Some(v) => v,
                None => return &NULL,
            },
            Value::Array(items) => match part.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(v) => v,
                None => return &NULL,
            },
            _ => return &NULL,
        };
    }
    current
}

fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// JavaScript's Number-to-String for the values JSON can carry.
fn js_number_string(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if x == x.trunc() && x.abs() < 1e21 {
        format!("{}", x as i128)
    } else {
        format!("{x}")
    }
}

/// JavaScript's `String(v)`.
fn js_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => js_number_string(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|x| if x.is_null() { String::new() } else { js_to_string(x) })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// JavaScript's `Number(s)` for a string.
fn js_string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let lower = t.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            return u64::from_str_radix(digits, radix).map(|v| v as f64).unwrap_or(f64::NAN);
        }
    }
    // Rust accepts "inf"/"nan"/"infinity", JavaScript does not.
    if lower.contains("inf") || lower.contains("nan") {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// JavaScript's `Number(v)` (`ToNumber` after `ToPrimitive`).
fn js_to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => js_string_to_number(s),
        Value::Array(_) => js_string_to_number(&js_to_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// `JSON.stringify` (key order as written).
fn js_stringify(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// JavaScript's `===` on JSON values: objects and arrays are never equal (distinct references).
fn js_strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// SameValueZero, what `Array.prototype.includes` uses.
fn same_value_zero(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x.is_nan() && y.is_nan())
        }
        _ => js_strict_eq(a, b),
    }
}

fn is_in(actual: &Value, expected: &[Value], insensitive: bool) -> bool {
    let eq = |a: &Value, e: &Value| match (a, e, insensitive) {
        (Value::String(a), Value::String(e), true) => a.to_lowercase() == e.to_lowercase(),
        _ => same_value_zero(a, e),
    };
    match actual {
        Value::Array(items) => items.iter().any(|a| expected.iter().any(|e| eq(a, e))),
        _ => expected.iter().any(|e| eq(actual, e)),
    }
}

/// JavaScript's abstract relational comparison `a < b` (or `a <= b` when `or_equal`).
fn js_less(a: &Value, b: &Value, or_equal: bool) -> bool {
    let prim = |v: &Value| match v {
        Value::Array(_) | Value::Object(_) => Value::String(js_to_string(v)),
        other => other.clone(),
    };
    let (pa, pb) = (prim(a), prim(b));
    if let (Value::String(x), Value::String(y)) = (&pa, &pb) {
        let (x, y): (Vec<u16>, Vec<u16>) = (x.encode_utf16().collect(), y.encode_utf16().collect());
        return if or_equal { x <= y } else { x < y };
    }
    let (x, y) = (js_to_number(&pa), js_to_number(&pb));
    if or_equal {
        x <= y
    } else {
        x < y
    }
}

/// GrowthBook's `paddedVersionString`: drop a leading `v` and any `+build`, split on `.` and `-`,
/// mark a release without pre-release tag with `~` (which sorts after any tag), and left-pad
/// numeric parts to width 5 so that string order is version order.
fn padded_version(v: &Value) -> String {
    let raw = match v {
        Value::Number(_) => js_to_string(v),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "0".into(),
    };
    let mut s = raw.as_str();
    if let Some(rest) = s.strip_prefix('v') {
        s = rest;
    }
    if let Some(plus) = s.find('+') {
        s = &s[..plus];
    }
    let mut parts: Vec<String> = s.split(['-', '.']).map(str::to_string).collect();
    if parts.len() == 3 {
        parts.push("~".into());
    }
    parts
        .iter()
        .map(|p| if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) { format!("{p:>5}") } else { p.clone() })
        .collect::<Vec<_>>()
        .join("-")
}

/// Evaluates a condition against attributes: the `eval_condition` primitive of every face.
///
/// Lenient like the SDKs: an unknown operator never matches. Only a condition that is not a JSON
/// object is an error.
pub fn eval_condition(condition: &Value, attributes: &Value, groups: &SavedGroups) -> Result<bool> {
    Ok(Condition::parse(condition)?.eval(attributes, groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_validation_names_the_path() {
        let c = Condition::parse(&json!({"country": {"$inn": ["US"]}})).unwrap();
        let err = c.validate(&SavedGroups::new()).unwrap_err();
        assert_eq!(err.field(), Some("country"));
        assert!(err.to_string().contains("unknown operator $inn"), "{err}");
        let c = Condition::parse(&json!({"$or": [{"a": 1}, {"b": {"$regex": "(["}}]})).unwrap();
        assert_eq!(c.validate(&SavedGroups::new()).unwrap_err().field(), Some("[1].b"));
    }

    #[test]
    fn js_semantics_for_missing_and_mixed_types() {
        let g = SavedGroups::new();
        // a missing attribute is null, which JavaScript compares as 0
        assert!(eval_condition(&json!({"age": {"$lt": 10}}), &json!({}), &g).unwrap());
        assert!(!eval_condition(&json!({"age": {"$gt": 0}}), &json!({}), &g).unwrap());
        // a regex on a missing attribute tests the string "null", as String(null) does
        assert!(eval_condition(&json!({"x": {"$regex": "^nul"}}), &json!({}), &g).unwrap());
        assert!(eval_condition(&json!({"n": 5}), &json!({"n": "5"}), &g).unwrap());
        assert!(eval_condition(&condition_not_object(), &json!({}), &g).is_err());
    }

    fn condition_not_object() -> Value {
        json!([1, 2])
    }
}
