//! The rules for the cells of unit-level analysis input, once for every door: the CSV and
//! Parquet readers (`src/data`), the raw arrays of `POST /v1/analyze` and the DataFrames of
//! Python's `liftlab.analyze`. A face converts what it holds into a [`NumberCell`], a text cell
//! or a [`RawColumn`] and lets these functions decide; each rule builds its one [`Error`] (code,
//! detail, message), at `column[row]`. The face then puts the table in front
//! (`outcomes.amount[3]`) and, through its rename table, its own names.
//!
//! | cell                                   | answer                                                     |
//! |----------------------------------------|------------------------------------------------------------|
//! | number column: null                    | missing (NaN, the aggregator's spelling)                   |
//! | number column: a finite number         | the number                                                 |
//! | number column: NaN or ±inf             | `invalid_input` / `not_finite` (or missing, [`Nan::Missing`]) |
//! | number column: text that parses        | the number (`true`/`false`: 1/0); `'NaN'`, `'inf'` as above |
//! | number column: other text or value     | `schema_error` / `not_a_number`                            |
//! | date column: `YYYY-MM-DD...` text      | days since 1970-01-01; other text `schema_error` / `not_a_date` |
//! | unit id: null or empty text            | `invalid_input` (`null unit id`, `empty unit id`)          |
//! | variant: null or empty text            | `invalid_input` (`null variant`)                           |
//!
//! A missing value is `null`: a CSV cell that is empty is its null (the reader's conversion), and
//! in a dictionary-coded text column ([`Codes`]) empty text is null too.

use super::aggregate::{parse_iso_day, Codes, Ids};
use crate::error::{Detail, Error, FieldPath, Result, Segment};

/// The path of row `row` of column `column` (a column's name is one key, dots and all).
pub fn cell(column: &str, row: usize) -> FieldPath {
    FieldPath::new(vec![Segment::Key(column.to_string()), Segment::Index(row)])
}

/// What a NaN in a number column means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Nan {
    /// An error (`not_finite`): the analysis, where a missing value must be null.
    #[default]
    Error,
    /// A missing value: the uplift doors, where a DataFrame's NaN is how Python spells missing.
    Missing,
}

/// One cell of a number column as a face holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NumberCell<'a> {
    Null,
    Number(f64),
    /// Text, read as a number when it is one (`" 2.5"`, `1e3`, `true`).
    Text(&'a str),
    /// Any other value, as it is shown in the error (a JSON `true`, `[1]`).
    Other(&'a str),
}

/// The error for a cell of a number column that holds something else (`shown`, e.g. `'abc'`).
pub fn not_a_number(column: &str, row: usize, shown: &str) -> Error {
    Error::schema(cell(column, row), format!("{shown} is not a number")).with_detail(Detail::NotANumber)
}

fn not_finite(column: &str, row: usize, shown: &str) -> Error {
    Error::invalid(
        cell(column, row),
        format!("{shown} is not a finite number (use null or an empty cell for a missing value)"),
    )
    .with_detail(Detail::NotFinite)
}

/// The value of one cell of a number column: a number, or NaN for a missing value.
#[inline]
pub fn number_cell(column: &str, row: usize, cell: NumberCell<'_>, nan: Nan) -> Result<f64> {
    let (x, shown) = match cell {
        NumberCell::Null => return Ok(f64::NAN),
        NumberCell::Number(x) => (x, None),
        NumberCell::Text(s) => match s {
            "true" | "True" | "TRUE" => (1.0, None),
            "false" | "False" | "FALSE" => (0.0, None),
            _ => match s.trim().parse::<f64>() {
                Ok(x) => (x, Some(s)),
                Err(_) => return Err(not_a_number(column, row, &format!("'{s}'"))),
            },
        },
        NumberCell::Other(shown) => return Err(not_a_number(column, row, shown)),
    };
    if x.is_finite() || (x.is_nan() && nan == Nan::Missing) {
        return Ok(if x.is_nan() { f64::NAN } else { x });
    }
    Err(not_finite(column, row, &shown.map_or_else(|| x.to_string(), |s| format!("'{s}'"))))
}

/// The day (since 1970-01-01) of one cell of a date column: `YYYY-MM-DD`, optionally followed by
/// a time.
pub fn day_cell(column: &str, row: usize, text: &str) -> Result<i64> {
    parse_iso_day(text).ok_or_else(|| {
        Error::schema(cell(column, row), format!("'{text}' is not a date (YYYY-MM-DD...)"))
            .with_detail(Detail::NotADate)
    })
}

/// A unit id given as text: null and empty text are errors.
#[inline]
pub fn unit_id_cell<'s>(column: &str, row: usize, text: Option<&'s str>) -> Result<&'s str> {
    match text {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(Error::invalid(cell(column, row), "empty unit id")),
        None => Err(Error::invalid(cell(column, row), "null unit id")),
    }
}

/// A variant column has no missing cell: the first one is an error.
pub fn check_variants(column: &str, variants: &Codes) -> Result<()> {
    match variants.codes.iter().position(|&c| c == Codes::NULL) {
        Some(row) => Err(Error::invalid(cell(column, row), "null variant")),
        None => Ok(()),
    }
}

/// A column of numbers holds another type (`kind`: its type's name).
pub fn not_a_number_column(column: &str, kind: &str) -> Error {
    Error::schema(FieldPath::key(column), format!("is not a number column ({kind})")).with_detail(Detail::NotANumber)
}

/// A column of dates holds another type (`kind`: its type's name).
pub fn not_a_date_column(column: &str, kind: &str) -> Error {
    Error::schema(FieldPath::key(column), format!("is not a date or time column ({kind})"))
        .with_detail(Detail::NotADate)
}

/// A table (`source`: `the outcomes`, a file's path) lacks column `column`.
pub fn missing_column(column: &str, source: &str, have: &[impl AsRef<str>]) -> Error {
    let have: Vec<&str> = have.iter().map(AsRef::as_ref).collect();
    Error::schema(FieldPath::key(column), format!("no column '{column}' in {source} (columns: {})", have.join(", ")))
        .with_detail(Detail::MissingColumn)
}

/// A whole column as a face holds it (a DataFrame's column), before the cell rules.
#[derive(Clone, Copy, Debug)]
pub enum RawColumn<'a> {
    /// Integers; `nulls[i]` marks row `i` missing (its value is ignored).
    Int { values: &'a [i64], nulls: Option<&'a [bool]> },
    /// Floats (booleans as 0/1); `nulls` as for `Int`.
    Float { values: &'a [f64], nulls: Option<&'a [bool]> },
    /// Dates, as days since 1970-01-01; `nulls` as for `Int`.
    Date { days: &'a [i64], nulls: Option<&'a [bool]> },
    /// Text cells; `None` is null.
    Text(&'a [Option<String>]),
    /// A column of another type, by its type's name.
    Other(&'a str),
}

impl RawColumn<'_> {
    /// The type's name in errors.
    fn kind(&self) -> &str {
        match self {
            RawColumn::Int { .. } => "integer",
            RawColumn::Float { .. } => "float",
            RawColumn::Date { .. } => "date",
            RawColumn::Text(_) => "text",
            RawColumn::Other(k) => k,
        }
    }
}

fn is_null(nulls: Option<&[bool]>, i: usize) -> bool {
    nulls.is_some_and(|n| n.get(i).copied().unwrap_or(false))
}

/// Unit ids of a column: integers or text, without a null (rows named from `first_row`).
pub fn unit_ids(column: &str, first_row: usize, raw: RawColumn<'_>) -> Result<Ids> {
    match raw {
        RawColumn::Int { values, nulls } => match (0..values.len()).find(|&i| is_null(nulls, i)) {
            Some(i) => Err(unit_id_cell(column, first_row + i, None).unwrap_err()),
            None => Ok(Ids::Int(values.to_vec())),
        },
        RawColumn::Text(cells) => cells
            .iter()
            .enumerate()
            .map(|(i, c)| unit_id_cell(column, first_row + i, c.as_deref()).map(str::to_string))
            .collect::<Result<_>>()
            .map(Ids::Str),
        other => Err(Error::schema(
            FieldPath::key(column),
            format!("is a {} column; unit ids are integers or text", other.kind()),
        )),
    }
}

/// A number column: numbers, NaN for a missing value (rows named from `first_row`).
pub fn numbers(column: &str, first_row: usize, raw: RawColumn<'_>, nan: Nan) -> Result<Vec<f64>> {
    match raw {
        RawColumn::Int { values, nulls } => {
            Ok(values.iter().enumerate().map(|(i, &x)| if is_null(nulls, i) { f64::NAN } else { x as f64 }).collect())
        }
        RawColumn::Float { values, nulls } => {
            for (i, &x) in values.iter().enumerate() {
                if !x.is_finite() && !is_null(nulls, i) {
                    number_cell(column, first_row + i, NumberCell::Number(x), nan)?;
                }
            }
            Ok(match nulls {
                None => values.to_vec(),
                Some(_) => {
                    values.iter().enumerate().map(|(i, &x)| if is_null(nulls, i) { f64::NAN } else { x }).collect()
                }
            })
        }
        RawColumn::Text(cells) => cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cell = c.as_deref().map_or(NumberCell::Null, NumberCell::Text);
                number_cell(column, first_row + i, cell, nan)
            })
            .collect(),
        other => Err(not_a_number_column(column, other.kind())),
    }
}

/// A date column: days since 1970-01-01, `None` for a missing value (rows named from
/// `first_row`). Integers are day numbers.
pub fn days(column: &str, first_row: usize, raw: RawColumn<'_>) -> Result<Vec<Option<i64>>> {
    match raw {
        RawColumn::Date { days: values, nulls } | RawColumn::Int { values, nulls } => {
            Ok(values.iter().enumerate().map(|(i, &d)| (!is_null(nulls, i)).then_some(d)).collect())
        }
        RawColumn::Text(cells) => cells
            .iter()
            .enumerate()
            .map(|(i, c)| c.as_deref().map(|s| day_cell(column, first_row + i, s)).transpose())
            .collect(),
        other => Err(not_a_date_column(column, other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl std::fmt::Debug>) -> (String, Option<&'static str>, String) {
        let e = r.unwrap_err();
        (e.code().to_string(), e.detail().map(Detail::as_str), e.to_string())
    }

    #[test]
    fn number_cells() {
        let n = |c| number_cell("x", 3, c, Nan::Error);
        assert_eq!(n(NumberCell::Number(2.5)).unwrap(), 2.5);
        assert!(n(NumberCell::Null).unwrap().is_nan());
        assert_eq!(n(NumberCell::Text(" 1e3")).unwrap(), 1000.0);
        assert_eq!(n(NumberCell::Text("true")).unwrap(), 1.0);
        assert_eq!(
            err(n(NumberCell::Text("abc"))),
            ("schema_error".into(), Some("not_a_number"), "x[3]: 'abc' is not a number".into())
        );
        assert_eq!(err(n(NumberCell::Other("true"))).2, "x[3]: true is not a number");
        let finite = " is not a finite number (use null or an empty cell for a missing value)";
        assert_eq!(
            err(n(NumberCell::Number(f64::NAN))),
            ("invalid_input".into(), Some("not_finite"), format!("x[3]: NaN{finite}"))
        );
        assert_eq!(err(n(NumberCell::Number(f64::NEG_INFINITY))).2, format!("x[3]: -inf{finite}"));
        assert_eq!(err(n(NumberCell::Text("NaN"))).2, format!("x[3]: 'NaN'{finite}"));
        // NaN as missing (the uplift doors); infinity stays an error
        assert!(number_cell("x", 0, NumberCell::Text("nan"), Nan::Missing).unwrap().is_nan());
        assert!(number_cell("x", 0, NumberCell::Number(f64::INFINITY), Nan::Missing).is_err());
        // the same text at every door
        assert_eq!(not_a_number("x", 3, "'abc'").to_string(), "x[3]: 'abc' is not a number");
    }

    #[test]
    fn columns() {
        let nulls = [false, true, false];
        let v = numbers("x", 0, RawColumn::Float { values: &[1.0, f64::NAN, 2.0], nulls: Some(&nulls) }, Nan::Error);
        let v = v.unwrap();
        assert_eq!((v[0], v[1].is_nan(), v[2]), (1.0, true, 2.0));
        let e =
            numbers("x", 10, RawColumn::Float { values: &[1.0, 0.0, f64::INFINITY], nulls: Some(&nulls) }, Nan::Error);
        assert_eq!(e.unwrap_err().field(), Some("x[12]"));
        assert_eq!(
            err(numbers("x", 0, RawColumn::Other("List(Int64)"), Nan::Error)),
            ("schema_error".into(), Some("not_a_number"), "x: is not a number column (List(Int64))".into())
        );
        assert_eq!(
            err(unit_ids("id", 0, RawColumn::Int { values: &[1, 0], nulls: Some(&[false, true]) })).2,
            "id[1]: null unit id"
        );
        assert_eq!(
            err(unit_ids("id", 0, RawColumn::Text(&[Some("a".into()), Some(String::new())]))).2,
            "id[1]: empty unit id"
        );
        let d = days("t", 0, RawColumn::Text(&[Some("2026-03-01T10:00".into()), None])).unwrap();
        assert_eq!(d, [Some(20_513), None]);
        assert_eq!(
            err(days("t", 0, RawColumn::Text(&[None, Some("03/01/2026".into())]))),
            ("schema_error".into(), Some("not_a_date"), "t[1]: '03/01/2026' is not a date (YYYY-MM-DD...)".into())
        );
        assert_eq!(
            err(days("t", 0, RawColumn::Float { values: &[], nulls: None })).2,
            "t: is not a date or time column (float)"
        );
        let v = Codes::from_values([Some("a"), Some(""), None]);
        assert_eq!(v.codes[1], Codes::NULL, "empty text is null");
        assert_eq!(err(check_variants("variant", &v).map(|_| 0)).2, "variant[1]: null variant");
        assert_eq!(
            missing_column("c", "the outcomes", &["a", "b"]).to_string(),
            "c: no column 'c' in the outcomes (columns: a, b)"
        );
    }
}
