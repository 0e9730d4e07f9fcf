//! The Python door's one rename table: the core's field paths become the names of the Python
//! arguments (the exception's `.field` and `.path`). Bindings map an error's path here and nowhere
//! else; nothing re-reads an error's text.
//!
//! | core path                         | Python                                     |
//! |-----------------------------------|--------------------------------------------|
//! | `outcome…`                        | `y_true…`                                  |
//! | `scores…`                         | `uplift…`                                  |
//! | `names…` (a chart's curves)       | `others…`                                  |
//! | `budget.max_contacts`, `budget.max_spend` | `max_contacts`, `max_spend`        |
//! | `x`                               | `X`                                        |
//! | `x[j]…`, `features[j]…`           | `X["<name of column j>"]…` (or `X[:, j]…`) |
//! | `uplift[i][j]`                    | `uplift['<channel j>'][i]`                 |
//! | `cost[j]`, `value[j]`             | `cost['<channel j>']`, `value['<channel j>']` |
//! | `channel[j]` (channel j's uplift column) | `uplift['<channel j>']`             |

use crate::error::{FieldPath, Segment};

/// Core names that have another name in Python, the rest of the path kept.
const RENAMES: &[(&str, &str)] = &[("outcome", "y_true"), ("scores", "uplift"), ("names", "others")];

/// What one call calls its inputs.
#[derive(Default)]
pub(crate) struct Names<'a> {
    /// The feature columns' labels in errors (core `x[j]`, `features[j]`), e.g. `X["age"]`.
    pub features: Option<&'a dyn Fn(usize) -> String>,
    /// The channels (core `uplift[i][j]`, `cost[j]`, `value[j]`).
    pub channels: &'a [String],
}

impl Names<'_> {
    /// The Python name for a core path (the module's table); a path not in it is kept.
    pub(crate) fn rename(&self, path: FieldPath) -> FieldPath {
        use Segment::{Index, Key};
        let s = path.segments();
        let Some(Key(head)) = s.first() else { return path };
        let with = |head: String, rest: &[Segment]| FieldPath::new([vec![Key(head)], rest.to_vec()].concat());
        if let Some((_, to)) = RENAMES.iter().find(|(from, _)| from == head) {
            return with(to.to_string(), &s[1..]);
        }
        let channel = |j: &usize| self.channels.get(*j).map(|n| format!("'{n}'"));
        match (head.as_str(), &s[1..]) {
            ("budget", [Key(b)]) => FieldPath::key(b.as_str()),
            ("x", []) if self.features.is_some() => FieldPath::key("X"),
            ("x" | "features", [Index(j), rest @ ..]) => match self.features {
                Some(label) => with(label(*j), rest),
                None => path,
            },
            ("uplift", [Index(i), Index(j), rest @ ..]) => match channel(j) {
                Some(n) => with(format!("uplift[{n}]"), &[&[Index(*i)], rest].concat()),
                None => path,
            },
            ("channel", [Index(j)]) => match channel(j) {
                Some(n) => FieldPath::key(format!("uplift[{n}]")),
                None => path,
            },
            (k @ ("cost" | "value"), [Index(j)]) => match channel(j) {
                Some(n) => FieldPath::key(format!("{k}[{n}]")),
                None => path,
            },
            _ => path,
        }
    }

    /// The error with its path renamed, as a Python exception.
    pub(crate) fn py_err(&self, e: crate::Error) -> pyo3::PyErr {
        super::to_py_err(e.map_path(|p| self.rename(p)))
    }
}
