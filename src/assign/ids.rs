//! Unit ids and hash attributes given as numbers, turned into the text that is hashed, as
//! GrowthBook's SDKs do it.
//!
//! GrowthBook hashes the **text** of an id. Its SDKs take a number's text from JavaScript's
//! `String(number)` (ECMAScript `Number::toString`; the Python SDK 4.x copies it in
//! `_js_number_to_string`): every number is a 64-bit double, whole numbers print without a
//! fraction (`47593751.0` -> `"47593751"`), `-0` prints as `"0"`, an integer above 2^53 is first
//! rounded to the nearest double (`9007199254740993` -> `"9007199254740992"`), and exponents are
//! used from 1e21 up and below 1e-6 (`"1e+21"`, `"1.5e-7"`). A pandas id column that once held a
//! NaN is float64; hashing `"47593751.0"` instead of `"47593751"` would put about two thirds of
//! the units in another variant than the app's SDK does. Every face calls these functions, so the
//! rule lives here once.
//!
//! * [`stringify_number`] is `String(number)`;
//! * [`unit_id_from_number`] / [`unit_id_from_json`] make a unit id from a number (a DataFrame
//!   column, a JSON number): its `String()`, or an error for NaN and infinities. liftlab requires
//!   every unit to have an id, so `0` is the id `"0"` (a GrowthBook SDK would treat a numeric id
//!   `0` as missing and not enrol the unit);
//! * hash attributes follow GrowthBook's `isHashable` (see `attribute_text` in the assignment
//!   engine): a non-empty string, or a finite non-zero number as its `String()`; `0`, `null`,
//!   `""` and **booleans** are missing, so a unit whose hash attribute is `true` is not enrolled;
//! * [`normalize_id_cells`] is the rule for a column of ids read from a text file (CSV): when
//!   every cell is a JSON number literal, the column holds numbers (as a DataFrame reader infers
//!   it) and each cell becomes its `String()`; otherwise the cells are ids as written
//!   (`+15550123`, `007` and `1.0a` are text).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// A unit id as a request gives it (`POST /v1/assign`'s `unit_id`, `/v1/assign/batch`'s `ids`):
/// a JSON string as it is, or a number as JavaScript prints it. Deserialising anything else fails
/// with the reason, so the error names the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "String")]
pub struct UnitId(pub String);

impl TryFrom<Value> for UnitId {
    type Error = String;
    fn try_from(v: Value) -> std::result::Result<Self, String> {
        match v {
            // An empty string passes here; assignment refuses it naming the row.
            Value::String(s) => Ok(UnitId(s)),
            other => unit_id_from_json(&other, "unit_id").map(UnitId).map_err(|e| match e {
                Error::InvalidInput { reason, .. } => reason.to_string(),
                other => other.to_string(),
            }),
        }
    }
}

impl From<UnitId> for String {
    fn from(id: UnitId) -> String {
        id.0
    }
}

impl AsRef<str> for UnitId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// JavaScript's `String(x)` for a double (ECMAScript 2024, 6.1.6.1.20 `Number::toString` with
/// radix 10): the shortest digits that read back as `x`, in plain notation for decimal exponents
/// `-7 < e < 21` and as `d.ddde±n` outside; `NaN`, `Infinity`, `-Infinity`; both zeros are `"0"`.
///
/// ```
/// use liftlab::assign::stringify_number;
/// assert_eq!(stringify_number(47593751.0), "47593751");
/// assert_eq!(stringify_number(1e21), "1e+21");
/// assert_eq!(stringify_number(-0.0), "0");
/// assert_eq!(stringify_number(1.5e-7), "1.5e-7");
/// assert_eq!(stringify_number(0.000001), "0.000001");
/// ```
pub fn stringify_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x < 0.0 {
        return format!("-{}", stringify_number(-x));
    }
    if x.is_infinite() {
        return "Infinity".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits (as JS's algorithm does) as `d.ddde±n`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // x = 0.d1d2...dk × 10^n
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let (digits, n) = even_on_a_tie(x, digits, n).unwrap_or_else(|| (digits.to_string(), n));
    let digits = digits.as_str();
    let k = digits.len() as i64;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(n as usize);
        format!("{a}.{b}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let sign = if n > 0 { '+' } else { '-' };
        let e = (n - 1).abs();
        if rest.is_empty() {
            format!("{first}e{sign}{e}")
        } else {
            format!("{first}.{rest}e{sign}{e}")
        }
    }
}

/// JavaScript's tie rule for the shortest digits: where `x` lies exactly halfway between two
/// shortest digit strings of the same length, `Number::toString` takes the one whose last digit is
/// even (as Python's `repr` does); Rust's formatter takes the upper one (562949953421312.25 is
/// "562949953421312.2" in JavaScript, "562949953421312.3" from `{:e}`). Given Rust's shortest
/// digits `0.d1..dk × 10^n`, returns the even candidate when `x` is such a tie and that candidate
/// reads back as `x`; `None` otherwise (almost always).
fn even_on_a_tie(x: f64, digits: &str, n: i64) -> Option<(String, i64)> {
    let k = digits.len();
    // cheap first: a tie's exact value is the k digits and a 5, so rounded to k + 3 significant
    // digits it ends in "500" (most numbers, whole ones included, stop here)
    let near = format!("{x:.prec$e}", prec = k + 2);
    if !near.split_once('e').is_some_and(|(m, _)| m.ends_with("500")) {
        return None;
    }
    // a double's exact decimal expansion has at most 767 significant digits
    let exact = format!("{x:.800e}");
    let (mantissa, exp) = exact.split_once('e')?;
    let all: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let e = all.trim_end_matches('0');
    // a tie: the exact value has one digit more than the shortest, and it is a 5
    if e.len() != k + 1 || !e.ends_with('5') {
        return None;
    }
    let ne = exp.parse::<i64>().ok()? + 1;
    let low = &e[..k];
    let low_even = (low.as_bytes()[k - 1] - b'0') % 2 == 0;
    let (cand, cn) = if low_even {
        (low.to_string(), ne)
    } else {
        // the upper candidate: low + 1 in the last place, carrying (9.95 -> 10.0)
        let mut d: Vec<u8> = low.bytes().collect();
        let mut i = k;
        loop {
            if i == 0 {
                d.insert(0, b'1');
                break;
            }
            i -= 1;
            if d[i] == b'9' {
                d[i] = b'0';
            } else {
                d[i] += 1;
                break;
            }
        }
        let cn = if d.len() > k { ne + 1 } else { ne };
        let s = String::from_utf8(d).ok()?;
        let s = s.trim_end_matches('0');
        (if s.is_empty() { "0".to_string() } else { s.to_string() }, cn)
    };
    if cand == digits && cn == n {
        return None;
    }
    let back: f64 = format!("0.{cand}e{cn}").parse().ok()?;
    (back == x).then_some((cand, cn))
}

/// The id of a unit given as a number: its JavaScript `String()` (see the module docs). NaN and
/// infinities are not ids: an error naming `field`.
pub fn unit_id_from_number(x: f64, field: &str) -> Result<String> {
    if x.is_finite() {
        Ok(stringify_number(x))
    } else {
        Err(Error::invalid(field, format!("{} is not a unit id (a missing value?)", stringify_number(x))))
    }
}

/// The id of a unit given as JSON: a string as it is, a number as JavaScript prints it (a JSON
/// integer above 2^53 is rounded to a double first, as `JSON.parse` does). `null`, booleans,
/// arrays and objects are errors naming `field`; so is an empty string.
pub fn unit_id_from_json(v: &Value, field: &str) -> Result<String> {
    let id = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) => unit_id_from_number(x, field)?,
            None => return Err(Error::invalid(field, format!("{n} is not a number liftlab can read"))),
        },
        Value::Null => return Err(Error::invalid(field, "unit id is null")),
        Value::Bool(_) => {
            return Err(Error::invalid(field, format!("{v} is not a unit id (use a string or a number)")));
        }
        other => return Err(Error::invalid(field, format!("must be a string or a number, got {other}"))),
    };
    if id.is_empty() {
        return Err(Error::invalid(field, "unit id is empty"));
    }
    Ok(id)
}

/// The text GrowthBook hashes for an attribute value, or `None` when its SDKs treat the value as
/// missing (`isHashable`): a non-empty string as it is, a finite non-zero number as its
/// [`stringify_number`]; `null`, `""`, `0`, NaN, booleans, arrays and objects are missing.
pub fn attribute_hash_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && *x != 0.0).map(stringify_number),
        _ => None,
    }
}

/// `s` read as a JSON number literal (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or
/// `None`. Stricter than `str::parse::<f64>`: no `+` sign, no leading zeros, no `inf` or `NaN`, so
/// that phone numbers (`+15550123`) and codes (`007`) stay text.
pub fn parse_number_literal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    if whole == 0 || (whole > 1 && b[i - whole] == b'0') {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Applies the text-file rule of the module docs to a column of ids read as text: when every cell
/// is a number literal (an empty cell or `NaN`, a missing value as CSV writers print it, aside),
/// each cell becomes its JavaScript `String()` and the missing ones become empty (an error later,
/// naming the row); otherwise nothing changes. Returns whether the column was numeric.
pub fn normalize_id_cells(cells: &mut [String]) -> bool {
    let missing = |c: &str| c.is_empty() || c == "NaN";
    let mut any = false;
    for c in cells.iter() {
        if missing(c) {
            continue;
        }
        if parse_number_literal(c).is_none() {
            return false;
        }
        any = true;
    }
    if !any {
        return false;
    }
    for c in cells.iter_mut() {
        *c = if missing(c) { String::new() } else { parse_number_literal(c).map(stringify_number).unwrap_or_default() };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Expected texts are what a JavaScript engine prints (`String(x)` in node 20, checked by hand,
    /// and the ECMAScript examples); the four-door fixture (`tests/fixtures/assign_cases.json`,
    /// section `unit_id_text`) checks more values against GrowthBook's Python SDK.
    #[test]
    fn stringify_number_as_javascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (47593751.0, "47593751"),
            (1.5, "1.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (123e-20, "1.23e-18"),
            (9007199254740993.0, "9007199254740992"),
            // a tie between two shortest strings: the even last digit (node 20, Python's repr)
            (2f64.powi(49) + 0.25, "562949953421312.2"),
            (4503599627370497.5, "4503599627370498"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(x, want) in cases {
            assert_eq!(stringify_number(x), want, "{x:e}");
        }
    }

    #[test]
    fn unit_ids_and_attributes() {
        assert_eq!(unit_id_from_json(&json!("u-1"), "unit_id").unwrap(), "u-1");
        assert_eq!(unit_id_from_json(&json!(47593751.0), "unit_id").unwrap(), "47593751");
        assert_eq!(unit_id_from_json(&json!(9007199254740993u64), "unit_id").unwrap(), "9007199254740992");
        assert_eq!(unit_id_from_json(&json!(0), "unit_id").unwrap(), "0");
        for bad in [json!(true), json!(null), json!(""), json!([1]), json!({"a": 1})] {
            assert_eq!(unit_id_from_json(&bad, "ids[3]").unwrap_err().field(), Some("ids[3]"), "{bad}");
        }
        assert_eq!(unit_id_from_number(f64::NAN, "ids[0]").unwrap_err().field(), Some("ids[0]"));
        assert_eq!(attribute_hash_text(&json!(4217.0)).as_deref(), Some("4217"));
        assert_eq!(attribute_hash_text(&json!(1e21)).as_deref(), Some("1e+21"));
        assert_eq!(attribute_hash_text(&json!("x")).as_deref(), Some("x"));
        for missing in [json!(true), json!(false), json!(0), json!(-0.0), json!(""), json!(null), json!([1])] {
            assert_eq!(attribute_hash_text(&missing), None, "{missing}");
        }
    }

    #[test]
    fn number_literals_and_id_columns() {
        for (s, want) in
            [("1", Some(1.0)), ("-0.0", Some(-0.0)), ("1e+21", Some(1e21)), ("47593751.0", Some(47593751.0))]
        {
            assert_eq!(parse_number_literal(s), want, "{s}");
        }
        for s in ["+15550123", "007", "1.", ".5", "1e", "NaN", "inf", "", "-", "1.0a", " 1", "1e999"] {
            assert_eq!(parse_number_literal(s), None, "{s}");
        }
        let mut floats: Vec<String> = ["47593751.0", "NaN", "12.5", ""].map(String::from).to_vec();
        assert!(normalize_id_cells(&mut floats));
        assert_eq!(floats, ["47593751", "", "12.5", ""]);
        let mut text: Vec<String> = ["47593751.0", "+15550123"].map(String::from).to_vec();
        assert!(!normalize_id_cells(&mut text));
        assert_eq!(text, ["47593751.0", "+15550123"]);
        let mut empty: Vec<String> = vec![String::new()];
        assert!(!normalize_id_cells(&mut empty));
    }
}
