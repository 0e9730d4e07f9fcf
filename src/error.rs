//! The one error type of liftlab, with a stable machine-readable [`Error::code`], an optional
//! finer [`Error::detail`] code and a structured [`FieldPath`].
//!
//! Every face maps it the same way, from this one table:
//!
//! | variant            | `code()`             | Python (`liftlab.exceptions`) | HTTP | CLI exit |
//! |--------------------|----------------------|-------------------------------|------|----------|
//! | `InvalidInput`     | `invalid_input`      | `InvalidInputError`           | 422  | 2        |
//! | `Schema`           | `schema_error`       | `SchemaError`                 | 422  | 2        |
//! | `InsufficientData` | `insufficient_data`  | `InsufficientDataError`       | 422  | 2        |
//! | `NotFound`         | `not_found`          | `NotFoundError`               | 404  | 2        |
//! | `Io`               | `io_error`           | `LiftlabIOError`              | 500  | 2        |
//! | `Cancelled`        | `cancelled`          | `LiftlabError`                | 503  | 3        |
//! | `Internal`         | `internal`           | `LiftlabError`                | 500  | 3        |
//!
//! The HTTP adapter adds `malformed_request` (400), `unauthorized` (401) and `payload_too_large`
//! (413), which never reach the core. A CLI regression check that finds a regression exits 1.
//! HTTP bodies have the shape
//! `{"error": {"code": "...", "message": "...", "field": "...", "path": [...], "detail": "..."}}`
//! (`path`, `detail` only when there is one).
//!
//! ## Field paths
//! The field an error is about is a [`FieldPath`]: keys and indices (`experiments`, `0`,
//! `weights`), shown as today's dotted text (`experiments[0].weights`). A face never re-parses it
//! or the message: it maps the segments through its one rename table (`src/cli/names.rs`,
//! `src/py/names.rs`) to its own names (Python's `n_trees` where the CLI says `--trees`).
//!
//! ## Detail codes
//! `code()` stays coarse and stable (it is the HTTP `code` and selects the Python class); where a
//! face must tell two errors of one code apart, the core adds a [`Detail`]:
//!
//! | `detail()`           | with code        | meaning                                                  |
//! |----------------------|------------------|----------------------------------------------------------|
//! | `not_a_number`       | `schema_error`   | a cell of a number column is text that is not a number   |
//! | `not_finite`         | `invalid_input`  | a number that must be finite is NaN or infinite          |
//! | `budget_too_small`   | `invalid_input`  | a contact policy's budget is below one contact           |
//! | `unknown_experiment` | `not_found`      | the experiment key names no experiment of the spec       |
//! | `ambiguous_experiment` | `invalid_input` | the spec has several experiments and none was chosen    |
//! | `missing_column`     | `schema_error`   | tabular input lacks a column                             |
//! | `not_a_date`         | `schema_error`   | a cell (or the column) of a date column is not a date    |
//! | `length_mismatch`    | `invalid_input`, `schema_error` | two inputs that must have one length do not |
//!
//! ## Reasons that name a second field
//! A reason is words and field paths ([`Reason`]): `treatment: has 3 values but outcome has 4`
//! is the field `treatment` and the reason `has 3 values but`, `outcome`, `has 4`. [`Error::map_path`]
//! maps every path of the error, so a face's rename table renames the second field too
//! (Python says `y_true has 4`) and no face edits a message's text.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One step of a [`FieldPath`]: a key of an object (or a name: an argument, a column, a flag) or
/// an index into a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl From<&str> for Segment {
    fn from(k: &str) -> Self {
        Segment::Key(k.to_string())
    }
}

impl From<usize> for Segment {
    fn from(i: usize) -> Self {
        Segment::Index(i)
    }
}

/// Where in the input an error is: keys and indices, shown as dotted text
/// (`experiments[0].weights`, `ids[2]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<Segment>,
    /// The dotted text of `segments`, kept so [`Error::field`] can lend a `&str`.
    text: String,
}

impl FieldPath {
    /// A path of the given segments.
    pub fn new(segments: Vec<Segment>) -> Self {
        let mut text = String::new();
        for (i, s) in segments.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => text.push_str(k),
                Segment::Key(k) => {
                    text.push('.');
                    text.push_str(k);
                }
                Segment::Index(n) => {
                    text.push('[');
                    text.push_str(&n.to_string());
                    text.push(']');
                }
            }
        }
        FieldPath { segments, text }
    }

    /// A path of one key taken whole, dots and brackets included (a file path, a column name).
    pub fn key(name: impl Into<String>) -> Self {
        Self::new(vec![Segment::Key(name.into())])
    }

    /// Reads the dotted text of a core literal (`experiments[0].weights`): `.` separates keys,
    /// `[n]` is an index; a bracket that does not hold a number stays part of its key
    /// (`X[:, 0]`, `uplift['sms']`).
    pub fn parse(text: &str) -> Self {
        if text.is_empty() {
            return Self::default();
        }
        let mut segments = Vec::new();
        for (p, part) in split_top_level(text).into_iter().enumerate() {
            let mut key = String::new();
            let mut indexed = false;
            let mut rest = part;
            while !rest.is_empty() {
                let index = rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)));
                match index {
                    Some((n, tail)) if !indexed || key.is_empty() => {
                        if !indexed && (p > 0 || !key.is_empty()) {
                            segments.push(Segment::Key(std::mem::take(&mut key)));
                        }
                        indexed = true;
                        segments.push(Segment::Index(n));
                        rest = tail;
                    }
                    _ => {
                        let mut chars = rest.chars();
                        key.extend(chars.next());
                        rest = chars.as_str();
                    }
                }
            }
            if !indexed {
                segments.push(Segment::Key(key));
            } else if !key.is_empty() {
                // text after an index in one part (`x[0]y`): keep the whole text as one key
                return Self::key(text);
            }
        }
        let path = Self::new(segments);
        if path.text == text {
            path
        } else {
            Self::key(text)
        }
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The dotted text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path has no segment (the input as a whole).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// `parent` followed by this path.
    pub fn within(self, parent: impl Into<FieldPath>) -> Self {
        let mut segments = parent.into().segments;
        segments.extend(self.segments);
        Self::new(segments)
    }

    /// The first segment when it is a key.
    pub fn head(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for FieldPath {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl From<&String> for FieldPath {
    fn from(text: &String) -> Self {
        Self::parse(text)
    }
}

impl From<String> for FieldPath {
    fn from(text: String) -> Self {
        Self::parse(&text)
    }
}

impl From<Vec<Segment>> for FieldPath {
    fn from(segments: Vec<Segment>) -> Self {
        Self::new(segments)
    }
}

impl From<Segment> for FieldPath {
    fn from(s: Segment) -> Self {
        Self::new(vec![s])
    }
}

/// A finer, stable code under [`Error::code`], where a face must tell errors of one code apart
/// (the module's second table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Detail {
    NotANumber,
    NotFinite,
    BudgetTooSmall,
    UnknownExperiment,
    AmbiguousExperiment,
    MissingColumn,
    NotADate,
    LengthMismatch,
}

impl Detail {
    /// The code's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::NotANumber => "not_a_number",
            Detail::NotFinite => "not_finite",
            Detail::BudgetTooSmall => "budget_too_small",
            Detail::UnknownExperiment => "unknown_experiment",
            Detail::AmbiguousExperiment => "ambiguous_experiment",
            Detail::MissingColumn => "missing_column",
            Detail::NotADate => "not_a_date",
            Detail::LengthMismatch => "length_mismatch",
        }
    }
}

/// Why an input is refused: words, and the paths of other fields the sentence names, shown as
/// one sentence (`has 3 values but outcome has 4`). The paths are kept as paths so that a face's
/// rename table renames them as it renames the error's own field ([`Error::map_path`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reason {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(FieldPath),
}

impl Reason {
    /// A reason of words only.
    pub fn text(words: impl fmt::Display) -> Self {
        Reason { parts: vec![Part::Text(words.to_string())] }
    }

    /// `field` and `other` must have one length: `has {len} {unit} but {other} has {other_len}`,
    /// followed by `other_unit` when it is not empty (`has 3 values but x has 4 rows`).
    pub fn length_mismatch(
        len: usize,
        unit: &str,
        other: impl Into<FieldPath>,
        other_len: usize,
        other_unit: &str,
    ) -> Self {
        let tail = if other_unit.is_empty() { String::new() } else { format!(" {other_unit}") };
        Reason {
            parts: vec![
                Part::Text(format!("has {len} {unit} but ")),
                Part::Field(other.into()),
                Part::Text(format!(" has {other_len}{tail}")),
            ],
        }
    }

    /// The paths of the other fields the reason names, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldPath> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f),
            Part::Text(_) => None,
        })
    }

    /// The reason with `words` appended.
    pub fn append(mut self, words: impl fmt::Display) -> Self {
        self.parts.push(Part::Text(words.to_string()));
        self
    }

    fn map_fields(&mut self, f: &mut impl FnMut(FieldPath) -> FieldPath) {
        for p in &mut self.parts {
            if let Part::Field(path) = p {
                *path = f(std::mem::take(path));
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => f.write_str(t)?,
                Part::Field(path) => fmt::Display::fmt(path, f)?,
            }
        }
        Ok(())
    }
}

impl From<&str> for Reason {
    fn from(words: &str) -> Self {
        Reason::text(words)
    }
}

impl From<String> for Reason {
    fn from(words: String) -> Self {
        Reason { parts: vec![Part::Text(words)] }
    }
}

/// `text` split at the dots outside brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Everything that can go wrong in liftlab.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A value the caller gave is not acceptable; `field` says where (e.g. `experiments[0].weights`).
    #[error("{field}: {reason}")]
    InvalidInput { field: FieldPath, reason: Reason, detail: Option<Detail> },
    /// Tabular input lacks a column or has one of the wrong type.
    #[error("{field}: {reason}")]
    Schema { field: FieldPath, reason: Reason, detail: Option<Detail> },
    /// The input is well formed but too small for the requested computation.
    #[error("{field}: {reason}")]
    InsufficientData { field: FieldPath, reason: Reason, detail: Option<Detail> },
    /// A named thing (experiment key, forecast id) does not exist.
    #[error("{field}: no {what} named '{key}'")]
    NotFound { field: FieldPath, what: String, key: String, detail: Option<Detail> },
    /// A file could not be read or written (adapters only; the core does no I/O).
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// Work stopped before it finished because its [`crate::interrupt::Interrupt`] was raised:
    /// the client left, or the service's deadline for one request passed.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// A bug or an environment failure; never caused by user input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<FieldPath>, reason: impl fmt::Display) -> Self {
        Error::InvalidInput { field: field.into(), reason: Reason::text(reason), detail: None }
    }

    /// Shorthand for [`Error::Schema`].
    pub fn schema(field: impl Into<FieldPath>, reason: impl fmt::Display) -> Self {
        Error::Schema { field: field.into(), reason: Reason::text(reason), detail: None }
    }

    /// Shorthand for [`Error::InsufficientData`].
    pub fn insufficient(field: impl Into<FieldPath>, reason: impl fmt::Display) -> Self {
        Error::InsufficientData { field: field.into(), reason: Reason::text(reason), detail: None }
    }

    /// `field` and `other` must have one length and do not:
    /// `{field}: has {len} {unit} but {other} has {other_len} {other_unit}` (see
    /// [`Reason::length_mismatch`]), with the detail `length_mismatch`.
    pub fn length_mismatch(
        field: impl Into<FieldPath>,
        (len, unit): (usize, &str),
        other: impl Into<FieldPath>,
        (other_len, other_unit): (usize, &str),
    ) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: Reason::length_mismatch(len, unit, other, other_len, other_unit),
            detail: Some(Detail::LengthMismatch),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(field: impl Into<FieldPath>, what: impl Into<String>, key: impl Into<String>) -> Self {
        Error::NotFound { field: field.into(), what: what.into(), key: key.into(), detail: None }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Io { path: path.into(), reason: reason.to_string() }
    }

    /// The same error with a finer code (see [`Detail`]); errors without a field keep none.
    pub fn with_detail(mut self, d: Detail) -> Self {
        match &mut self {
            Error::InvalidInput { detail, .. }
            | Error::Schema { detail, .. }
            | Error::InsufficientData { detail, .. }
            | Error::NotFound { detail, .. } => *detail = Some(d),
            _ => {}
        }
        self
    }

    /// The stable, machine-readable code of this error (see the module table).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::Schema { .. } => "schema_error",
            Error::InsufficientData { .. } => "insufficient_data",
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io_error",
            Error::Cancelled(_) => "cancelled",
            Error::Internal(_) => "internal",
        }
    }

    /// The finer code, when the core gives one (the module's second table).
    pub fn detail(&self) -> Option<Detail> {
        match self {
            Error::InvalidInput { detail, .. }
            | Error::Schema { detail, .. }
            | Error::InsufficientData { detail, .. }
            | Error::NotFound { detail, .. } => *detail,
            _ => None,
        }
    }

    /// The field (or file) the error is about, as dotted text, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Io { path, .. } => Some(path),
            _ => self.path().map(FieldPath::as_str),
        }
    }

    /// The structured path of the field the error is about (not for [`Error::Io`], whose path is
    /// a file's).
    pub fn path(&self) -> Option<&FieldPath> {
        match self {
            Error::InvalidInput { field, .. }
            | Error::Schema { field, .. }
            | Error::InsufficientData { field, .. }
            | Error::NotFound { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The reason (the message without its field), for the errors that carry one.
    pub fn reason(&self) -> Option<String> {
        match self {
            Error::InvalidInput { reason, .. }
            | Error::Schema { reason, .. }
            | Error::InsufficientData { reason, .. } => Some(reason.to_string()),
            Error::Io { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }

    /// The exit code of the command-line face for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) | Error::Cancelled(_) => 3,
            _ => 2,
        }
    }

    /// The same error with every field path it holds mapped (a face's rename table): its field,
    /// and the other fields its reason names.
    pub fn map_path(mut self, mut f: impl FnMut(FieldPath) -> FieldPath) -> Self {
        match &mut self {
            Error::InvalidInput { field, reason, .. }
            | Error::Schema { field, reason, .. }
            | Error::InsufficientData { field, reason, .. } => {
                *field = f(std::mem::take(field));
                reason.map_fields(&mut f);
            }
            Error::NotFound { field, .. } => *field = f(std::mem::take(field)),
            _ => {}
        }
        self
    }

    /// The same error with words appended to its reason (e.g. a group's name, a hint).
    pub fn append(mut self, words: impl fmt::Display) -> Self {
        match &mut self {
            Error::InvalidInput { reason, .. }
            | Error::Schema { reason, .. }
            | Error::InsufficientData { reason, .. } => *reason = std::mem::take(reason).append(words),
            _ => {}
        }
        self
    }

    /// Prefixes the field with a parent path: `weights` becomes `experiments[0].weights`. A
    /// `&str` parent is read as a path (`experiments[0]`); give [`FieldPath::key`] for a name
    /// taken whole (a file path).
    pub fn within(self, parent: impl Into<FieldPath>) -> Self {
        let parent = parent.into();
        self.map_path(|p| p.within(parent.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_field_paths() {
        let e = Error::invalid("weights", "must sum to 1").within("experiments[0]");
        assert_eq!(e.field(), Some("experiments[0].weights"));
        assert_eq!(
            e.path().unwrap().segments(),
            [Segment::Key("experiments".into()), Segment::Index(0), Segment::Key("weights".into())]
        );
        let e = Error::invalid("[2]", "empty").within("ids");
        assert_eq!(e.field(), Some("ids[2]"));
        assert_eq!(e.to_string(), "ids[2]: empty");
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(Error::Internal("x".into()).exit_code(), 3);
        let e = Error::invalid("", "empty").within(FieldPath::key("/tmp/a.toml"));
        assert_eq!(e.to_string(), "/tmp/a.toml: empty");
        assert_eq!(e.path().unwrap().segments(), [Segment::Key("/tmp/a.toml".into())]);
    }

    #[test]
    fn paths_read_and_show_as_the_dotted_text() {
        let seg = |p: &str| FieldPath::parse(p).segments().to_vec();
        let k = |s: &str| Segment::Key(s.into());
        assert_eq!(seg("experiments[0].weights"), [k("experiments"), Segment::Index(0), k("weights")]);
        assert_eq!(seg("uplift[3][1]"), [k("uplift"), Segment::Index(3), Segment::Index(1)]);
        assert_eq!(seg("[2]"), [Segment::Index(2)]);
        assert_eq!(seg("X[:, 0]"), [k("X[:, 0]")]);
        assert_eq!(seg("uplift['sms'][4]"), [k("uplift['sms']"), Segment::Index(4)]);
        assert_eq!(seg("X[\"a.b\"]"), [k("X[\"a.b\"]")]);
        assert_eq!(seg("--trees"), [k("--trees")]);
        assert!(seg("").is_empty());
        // every text shows as itself, whatever its segments
        for t in ["a.b[0].c", "a..b", ".a", "a.", "x[0]y", "a.[2]", "[0][1].k", "x[01]", "x[", "a]b", "spec.toml"] {
            assert_eq!(FieldPath::parse(t).to_string(), t);
        }
        let e = Error::schema("amount[3]", "'x' is not a number").with_detail(Detail::NotANumber);
        assert_eq!(e.detail().map(Detail::as_str), Some("not_a_number"));
        let e = e.map_path(|p| FieldPath::new([vec![Segment::Key("outcomes".into())], p.segments().to_vec()].concat()));
        assert_eq!(e.to_string(), "outcomes.amount[3]: 'x' is not a number");
    }

    #[test]
    fn a_reason_names_a_second_field_by_its_path() {
        let e = Error::length_mismatch("scores", (3, "values"), "outcome", (4, ""));
        assert_eq!(e.to_string(), "scores: has 3 values but outcome has 4");
        assert_eq!((e.code(), e.detail()), ("invalid_input", Some(Detail::LengthMismatch)));
        assert_eq!(e.reason().as_deref(), Some("has 3 values but outcome has 4"));
        let e = Error::length_mismatch("y", (3, "values"), "x", (4, "rows"));
        assert_eq!(e.to_string(), "y: has 3 values but x has 4 rows");
        // a rename table renames both paths; words appended stay after them
        let rename = |p: FieldPath| match p.head() {
            Some("x") => FieldPath::key("X"),
            Some("y") => FieldPath::key("y_true"),
            _ => p,
        };
        let e = e.append(" (treated)").map_path(rename);
        assert_eq!(e.to_string(), "y_true: has 3 values but X has 4 rows (treated)");
        assert_eq!(e.field(), Some("y_true"));
        // a parent prefixes both: they are fields of one object
        let e = Error::length_mismatch("weights", (2, "values"), "variants", (3, "")).within("experiments[1]");
        assert_eq!(e.to_string(), "experiments[1].weights: has 2 values but experiments[1].variants has 3");
        match &e {
            Error::InvalidInput { reason, .. } => {
                let others: Vec<&FieldPath> = reason.fields().collect();
                assert_eq!(others[0].segments()[1], Segment::Index(1));
            }
            other => panic!("{other:?}"),
        }
        // errors of words only keep them
        assert_eq!(Error::invalid("a", "is empty").append("!").reason().as_deref(), Some("is empty!"));
        assert_eq!(Error::Internal("x".into()).append("!"), Error::Internal("x".into()));
    }
}
