//! The command line's one rename table: the core's field paths become the names a user of the
//! CLI typed (flags, the columns of their files). Commands map an error's path here and nowhere
//! else; nothing re-reads an error's text.
//!
//! | core path                         | CLI                                       |
//! |-----------------------------------|-------------------------------------------|
//! | `n_trees…`                        | `--n-trees`                               |
//! | `criterion`, `control`, `max_depth…`, `min_samples_leaf…`, `min_samples_treatment…`, `n_reg…`, `max_features…`, `max_bins…`, `categorical…` | the flag of that name (`--max-depth`) |
//! | `value…`, `cost…`                 | `--value`, `--cost`                       |
//! | `budget.max_contacts`, `budget.max_spend` | `--max-contacts`, `--max-spend`   |
//! | `treatment[i]`, `y[i]`            | `TREATMENT_COL[i]`, `OUTCOME_COL[i]`      |
//! | `x[j]…`, `x`                      | the j-th feature's column, `features`     |
//! | `uplift[i][j]`                    | the j-th channel's column `[i]`           |

use crate::error::{FieldPath, Segment};

/// Flags renamed by issue 16, still accepted for one release as hidden clap aliases: (old, new).
/// A command that succeeds with one prints [`deprecation_warnings`]' lines on stderr when it
/// ends (an error stays the one line it is); docs/names.md lists them.
pub const DEPRECATED_FLAGS: &[(&str, &str)] = &[("--trees", "--n-trees"), ("--id-col", "--unit-col")];

/// One warning line for each deprecated flag spelled in `args` (as `--old`, `--old=value`), in
/// the order typed; arguments after `--` are values, not flags.
pub fn deprecation_warnings(args: &[std::ffi::OsString]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args.iter().skip(1) {
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            break;
        }
        let flag = a.split_once('=').map_or(a, |(f, _)| f);
        if let Some((old, new)) = DEPRECATED_FLAGS.iter().find(|(old, _)| *old == flag) {
            let warning = format!("warning: {old} is deprecated: use {new} (the old name goes in the next release)");
            if !out.contains(&warning) {
                out.push(warning);
            }
        }
    }
    out
}

/// Core names that are flags here; the flag stands for the whole value (any index is dropped).
pub const FLAGS: &[(&str, &str)] = &[
    ("n_trees", "--n-trees"),
    ("criterion", "--criterion"),
    ("control", "--control"),
    ("max_depth", "--max-depth"),
    ("min_samples_leaf", "--min-samples-leaf"),
    ("min_samples_treatment", "--min-samples-treatment"),
    ("n_reg", "--n-reg"),
    ("max_features", "--max-features"),
    ("max_bins", "--max-bins"),
    ("categorical", "--categorical"),
    ("value", "--value"),
    ("cost", "--cost"),
];

/// What one command calls its inputs: the columns of its files.
#[derive(Default)]
pub struct Names<'a> {
    /// The treatment column (core `treatment`).
    pub treatment: Option<&'a str>,
    /// The outcome column (core `y`).
    pub outcome: Option<&'a str>,
    /// The feature columns (core `x[j]`).
    pub features: &'a [String],
    /// The channels' columns (core `uplift[i][j]`).
    pub channels: &'a [String],
}

impl Names<'_> {
    /// The CLI's name for a core path (the module's table); a path not in it is kept.
    pub fn rename(&self, path: FieldPath) -> FieldPath {
        use Segment::{Index, Key};
        let s = path.segments();
        let Some(Key(head)) = s.first() else { return path };
        if let Some((_, flag)) = FLAGS.iter().find(|(k, _)| k == head) {
            return FieldPath::key(*flag);
        }
        // a budget is one flag per kind: budget.max_spend is --max-spend
        if let ("budget", [Key(kind), ..]) = (head.as_str(), &s[1..]) {
            return FieldPath::key(format!("--{}", kind.replace('_', "-")));
        }
        let key = |name: &str, rest: &[Segment]| FieldPath::new([vec![Key(name.to_string())], rest.to_vec()].concat());
        match (head.as_str(), &s[1..]) {
            ("treatment", rest) if self.treatment.is_some() => key(self.treatment.unwrap_or_default(), rest),
            ("y", rest) if self.outcome.is_some() => key(self.outcome.unwrap_or_default(), rest),
            ("x", []) => FieldPath::key("features"),
            ("x", [Index(j), rest @ ..]) => match self.features.get(*j) {
                Some(f) => key(f, rest),
                None => FieldPath::key("features"),
            },
            ("uplift", [Index(i), Index(j), rest @ ..]) => match self.channels.get(*j) {
                Some(c) => key(c, &[&[Index(*i)], rest].concat()),
                None => path,
            },
            _ => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_flags_warn_once_each_and_not_after_the_separator() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let w =
            deprecation_warnings(&args(&["liftlab", "uplift", "fit", "--trees=5", "--id-col", "u", "--trees", "7"]));
        assert_eq!(
            w,
            [
                "warning: --trees is deprecated: use --n-trees (the old name goes in the next release)",
                "warning: --id-col is deprecated: use --unit-col (the old name goes in the next release)"
            ]
        );
        assert!(
            deprecation_warnings(&args(&["liftlab", "uplift", "fit", "--n-trees", "5", "--unit-col", "u"])).is_empty()
        );
        assert!(deprecation_warnings(&args(&["liftlab", "x", "--", "--trees"])).is_empty());
        // the program name is not a flag
        assert!(deprecation_warnings(&args(&["--trees"])).is_empty());
    }

    #[test]
    fn the_table_names_flags_and_columns() {
        let features = vec!["age".to_string(), "tenure".to_string()];
        let channels = vec!["sms".to_string(), "call".to_string()];
        let n = Names { treatment: Some("arm"), outcome: Some("bought"), features: &features, channels: &channels };
        let r = |p: &str| n.rename(FieldPath::parse(p)).to_string();
        assert_eq!(r("n_trees"), "--n-trees");
        assert_eq!(r("max_depth"), "--max-depth");
        assert_eq!(r("cost[1]"), "--cost");
        assert_eq!(r("budget.max_contacts"), "--max-contacts");
        assert_eq!(r("budget.max_spend"), "--max-spend");
        assert_eq!(r("treatment[4]"), "arm[4]");
        assert_eq!(r("y[2]"), "bought[2]");
        assert_eq!(r("x[1][7]"), "tenure[7]");
        assert_eq!(r("x"), "features");
        assert_eq!(r("uplift[3][1]"), "call[3]");
        assert_eq!(r("experiments[0].weights"), "experiments[0].weights");
        assert_eq!(Names::default().rename(FieldPath::parse("treatment[1]")).to_string(), "treatment[1]");
    }
}
