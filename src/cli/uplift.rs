//! `liftlab uplift fit` / `liftlab uplift score`: the uplift forest over CSV / Parquet files.
//!
//! The model file is the one `liftlab.uplift.UpliftForest.save` writes, so a model fitted on
//! either face scores on the other:
//!
//! ```text
//! {"format": "liftlab.uplift_forest", "format_version": 1,
//!  "features": [{"name": "x0", "categories": null}, {"name": "city", "categories": ["a", "b"]}],
//!  "feature_names_in": true, "treatments": ["call", "sms"], "params": {...},
//!  "forest": {...the core model...}}
//! ```
//!
//! **Treatments.** The treatment column holds codes 0 (control) and 1..k, or, with `--control
//! LABEL`, text labels: that one is control and the others, sorted, are treatments 1..k (kept in
//! the file's `"treatments"`). `score` writes `uplift` for a model of one treatment; for several, one
//! column per treatment, named by its label (`call`, `sms`: ready for `liftlab uplift plan
//! --uplift-cols call,sms`) or `uplift_<code>` when it has none.
//!
//! A categorical feature's code is the index of its value among the sorted distinct values seen
//! at fit time; an empty cell, or a value not seen at fit time, is missing.

use clap::Subcommand;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::names::Names;
use crate::data::{self, ColData, Column, Table, Want};
use crate::error::{Detail, Error, FieldPath, Result};
use crate::uplift::forest::{
    fit_binned, treatment_codes as treatment_codes_of, BinnedFeature, ForestParams, SplitCriterion, UpliftForest,
    FORMAT_VERSION, MAX_GROUPS,
};

const FILE_FORMAT: &str = "liftlab.uplift_forest";
const FILE_FORMAT_VERSION: u64 = 1;

#[derive(Subcommand, Debug)]
pub(super) enum UpliftCommand {
    /// Fit an uplift random forest (binary outcome; one or several treatments) and save it as JSON.
    Fit(FitArgs),
    /// Score a file with a saved model: id column(s) plus `uplift` (one column per treatment).
    Score(ScoreArgs),
    /// Whom to contact, through which channel, within a contact and/or spend budget.
    Plan(super::uplift_plan::PlanArgs),
}

#[derive(clap::Args, Debug)]
pub(super) struct FitArgs {
    /// Training data (.csv or .parquet).
    #[arg(long)]
    data: String,
    /// Treatment column: codes 0 = control, 1..k = treatments (true/false also read), or text
    /// labels with --control.
    #[arg(long)]
    treatment_col: String,
    /// Read the treatment column as text labels; this label is control, the others treatments.
    #[arg(long)]
    control: Option<String>,
    /// Outcome column: 0 or 1.
    #[arg(long)]
    outcome_col: String,
    /// Comma-separated feature columns (default: every column but the treatment, outcome and id ones).
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// Comma-separated categorical feature columns (read as text; at most 255 values each).
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Comma-separated id column(s), left out of the default features.
    #[arg(long, value_delimiter = ',')]
    id_col: Vec<String>,
    /// Number of trees (at most 10,000).
    #[arg(long, default_value_t = ForestParams::default().n_trees)]
    trees: usize,
    /// Maximum number of splits from the root to a leaf (at most 64).
    #[arg(long, default_value_t = ForestParams::default().max_depth)]
    max_depth: usize,
    /// Minimum units in each child of a split.
    #[arg(long, default_value_t = ForestParams::default().min_samples_leaf)]
    min_samples_leaf: usize,
    /// Minimum units of each group in each child of a split.
    #[arg(long, default_value_t = ForestParams::default().min_samples_treatment)]
    min_samples_treatment: usize,
    /// Weight (in units) of the parent's rates in a child's summary.
    #[arg(long, default_value_t = ForestParams::default().n_reg)]
    n_reg: f64,
    /// Split criterion: kl, ed, chi or ddp.
    #[arg(long, default_value = "kl")]
    criterion: String,
    /// Features tried at each node [default: ceil(sqrt(number of features))].
    #[arg(long)]
    max_features: Option<usize>,
    /// Histogram bins per numeric feature (2..=255).
    #[arg(long, default_value_t = ForestParams::default().max_bins)]
    max_bins: usize,
    /// Grow every tree on all rows instead of a bootstrap sample.
    #[arg(long)]
    no_bootstrap: bool,
    /// Seed: the same seed gives the same forest whatever the thread count.
    #[arg(long, default_value_t = ForestParams::default().seed)]
    seed: u64,
    /// Model output (JSON).
    #[arg(short = 'o', long)]
    output: String,
}

#[derive(clap::Args, Debug)]
pub(super) struct ScoreArgs {
    /// Model from `liftlab uplift fit` or `UpliftForest.save`.
    #[arg(long)]
    model: String,
    /// Units to score (.csv or .parquet) with the model's feature columns.
    #[arg(long)]
    data: String,
    /// Comma-separated id column(s) copied to the output.
    #[arg(long, value_delimiter = ',')]
    id_col: Vec<String>,
    /// Output (.csv or .parquet): the id column(s) and `uplift` (or one column per treatment).
    #[arg(short = 'o', long)]
    output: String,
}

pub(super) fn run_uplift(command: UpliftCommand) -> Result<()> {
    match command {
        UpliftCommand::Fit(a) => run_fit(a),
        UpliftCommand::Score(a) => run_score(a),
        UpliftCommand::Plan(a) => super::uplift_plan::run_plan(a),
    }
}

fn criterion(s: &str) -> Result<(SplitCriterion, &'static str)> {
    match s.to_ascii_lowercase().as_str() {
        "kl" => Ok((SplitCriterion::Kl, "KL")),
        "ed" => Ok((SplitCriterion::Ed, "ED")),
        "chi" => Ok((SplitCriterion::Chi, "Chi")),
        "ddp" => Ok((SplitCriterion::Ddp, "DDP")),
        _ => Err(Error::invalid("criterion", format!("must be kl, ed, chi or ddp, got '{s}'"))),
    }
}

/// One feature of the model file: its column and, for a categorical one, its sorted values.
struct Feature {
    name: String,
    categories: Option<Vec<String>>,
}

/// The core's field names (`x[j]`, `treatment[i]`, `y[i]`) become the file's column names
/// (the CLI's rename table, `names.rs`).
fn rename_error(e: Error, features: &[Feature], treatment_col: &str, outcome_col: &str) -> Error {
    let features: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
    let names =
        Names { treatment: Some(treatment_col), outcome: Some(outcome_col), features: &features, channels: &[] };
    e.map_path(|p| names.rename(p))
}

/// Reads the feature columns as the core wants them: numbers (empty = NaN) and categorical codes.
/// When `fitting`, a categorical feature's values are collected and sorted into its categories.
fn feature_columns(
    path: &str,
    features: &mut [Feature],
    extra: &[(&str, Want)],
    fitting: bool,
) -> Result<(Vec<Vec<f64>>, Vec<ColData>)> {
    let mut wanted: Vec<(&str, Want)> = extra.to_vec();
    for f in features.iter() {
        // NaN (a `NaN` cell, as polars writes one) is missing, as in Python
        wanted.push((&f.name, if f.categories.is_some() { Want::Text } else { Want::NumberOrNan }));
    }
    let mut cols = data::read_columns(path, &wanted).map_err(|e| {
        if e.detail() != Some(Detail::NotANumber) {
            return e;
        }
        let column = e.path().and_then(FieldPath::head).unwrap_or_default();
        let hint = if features.iter().any(|f| f.name == column) {
            " (list the column in --categorical if it is categorical)"
        } else if fitting && extra.first().is_some_and(|(c, _)| *c == column) {
            " (give --control LABEL to read text treatment labels)"
        } else {
            ""
        };
        e.map_reason(|r| format!("{r}{hint}"))
    })?;

    let feature_cols = cols.split_off(extra.len());
    let mut x = Vec::with_capacity(features.len());
    for (f, col) in features.iter_mut().zip(feature_cols) {
        x.push(match col {
            ColData::Number(v) => v,
            ColData::Text(codes) => {
                let categories = f.categories.get_or_insert_with(Vec::new);
                if fitting {
                    let mut names = codes.names.clone();
                    names.sort();
                    *categories = names;
                }
                let index: std::collections::HashMap<&str, f64> =
                    categories.iter().enumerate().map(|(k, c)| (c.as_str(), k as f64)).collect();
                let remap: Vec<f64> =
                    codes.names.iter().map(|n| index.get(n.as_str()).copied().unwrap_or(f64::NAN)).collect();
                codes.codes.iter().map(|&c| remap.get(c as usize).copied().unwrap_or(f64::NAN)).collect()
            }
            _ => return Err(Error::Internal(format!("column '{}' read as the wrong type", f.name))),
        });
    }
    Ok((x, cols))
}

/// The treatment codes (0 = control, 1..k) and, for text labels, the treatments' labels in code
/// order. Numbers must be integer codes below [`MAX_GROUPS`]; with `control`, the column is text
/// and the other labels, sorted, become 1..k. The core checks that every code is present.
fn treatment_codes(col: ColData, name: &str, control: Option<&str>) -> Result<(Vec<u8>, Option<Vec<String>>)> {
    match (col, control) {
        (ColData::Number(t), None) => {
            let codes = treatment_codes_of(&t).map_err(|e| rename_error(e, &[], name, ""))?;
            Ok((codes, None))
        }
        (ColData::Text(c), Some(control)) => {
            if !c.names.iter().any(|n| n == control) {
                return Err(Error::invalid(
                    "--control",
                    format!("no row of '{name}' is '{control}' (labels: {})", c.names.join(", ")),
                ));
            }
            let mut labels: Vec<String> = c.names.iter().filter(|n| *n != control).cloned().collect();
            labels.sort();
            if labels.len() >= MAX_GROUPS {
                return Err(Error::invalid(
                    name,
                    format!("has {} treatment labels; at most {} are supported", labels.len(), MAX_GROUPS - 1),
                ));
            }
            let remap: Vec<u8> = c
                .names
                .iter()
                .map(|n| if n == control { 0 } else { labels.binary_search(n).map_or(0, |k| k as u8 + 1) })
                .collect();
            let mut codes = Vec::with_capacity(c.codes.len());
            for (i, &k) in c.codes.iter().enumerate() {
                match remap.get(k as usize) {
                    Some(&code) => codes.push(code),
                    None => return Err(Error::invalid(format!("{name}[{i}]"), "missing treatment (empty cell)")),
                }
            }
            Ok((codes, Some(labels)))
        }
        _ => Err(Error::Internal("treatment column read as the wrong type".into())),
    }
}

fn run_fit(a: FitArgs) -> Result<()> {
    let (crit, crit_name) = criterion(&a.criterion)?;
    let columns = data::column_names(&a.data)?;
    for (col, flag) in [(&a.treatment_col, "treatment_col"), (&a.outcome_col, "outcome_col")] {
        if !columns.contains(col) {
            return Err(Error::schema(
                col.as_str(),
                format!(
                    "no column '{col}' in {} (--{}; columns: {})",
                    a.data,
                    flag.replace('_', "-"),
                    columns.join(", ")
                ),
            ));
        }
    }
    let names: Vec<String> = match &a.features {
        Some(f) => f.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        None => columns
            .iter()
            .filter(|c| **c != a.treatment_col && **c != a.outcome_col && !a.id_col.contains(c))
            .cloned()
            .collect(),
    };
    if names.is_empty() {
        return Err(Error::invalid("features", "no feature columns (name them with --features)"));
    }
    for n in &names {
        if *n == a.treatment_col || *n == a.outcome_col {
            return Err(Error::invalid("features", format!("'{n}' is the treatment or outcome column")));
        }
        if !columns.contains(n) {
            return Err(Error::schema(
                n.as_str(),
                format!("no column '{n}' in {} (columns: {})", a.data, columns.join(", ")),
            ));
        }
    }
    if let Some(c) = a.categorical.iter().find(|c| !names.contains(c)) {
        return Err(Error::invalid("categorical", format!("'{c}' is not one of the features ({})", names.join(", "))));
    }
    let mut features: Vec<Feature> = names
        .iter()
        .map(|n| Feature { name: n.clone(), categories: a.categorical.contains(n).then(Vec::new) })
        .collect();
    let categorical: Vec<usize> = (0..features.len()).filter(|&j| features[j].categories.is_some()).collect();
    let params = ForestParams {
        n_trees: a.trees,
        criterion: crit,
        max_depth: a.max_depth,
        min_samples_leaf: a.min_samples_leaf,
        min_samples_treatment: a.min_samples_treatment,
        n_reg: a.n_reg,
        max_features: a.max_features,
        max_bins: a.max_bins,
        bootstrap: !a.no_bootstrap,
        categorical,
        seed: a.seed,
        ..ForestParams::default()
    };
    // the sizes first (at most 10,000 trees, depth 64, ...), before the file is read
    params.check(features.len()).map_err(|e| rename_error(e, &features, &a.treatment_col, &a.outcome_col))?;
    if let Some(dir) = std::path::Path::new(&a.output).parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::io(&a.output, "its folder does not exist"));
        }
    }

    let pb = super::spinner(&format!("reading {}", a.data));
    let t_want = if a.control.is_some() { Want::Text } else { Want::NumberOrNan };
    let extra = [(a.treatment_col.as_str(), t_want), (a.outcome_col.as_str(), Want::NumberOrNan)];
    let (x, cols) = feature_columns(&a.data, &mut features, &extra, true)?;
    let mut cols = cols.into_iter();
    let (Some(t), Some(ColData::Number(y))) = (cols.next(), cols.next()) else {
        return Err(Error::Internal("treatment / outcome read as the wrong type".into()));
    };
    let (treatment, labels) = treatment_codes(t, &a.treatment_col, a.control.as_deref())?;
    if let Some(i) = y.iter().position(|v| v.is_nan()) {
        return Err(Error::invalid(format!("{}[{i}]", a.outcome_col), "missing outcome (empty cell or NaN)"));
    }
    pb.set_message(format!("binning {} features", features.len()));
    let binned: Vec<BinnedFeature> = x
        .into_par_iter()
        .enumerate()
        .map(|(j, c)| BinnedFeature::new(&c, j, params.categorical.contains(&j), params.max_bins))
        .collect::<Result<_>>()
        .map_err(|e| rename_error(e, &features, &a.treatment_col, &a.outcome_col))?;
    pb.finish_and_clear();
    let bar = super::progress_bar(params.n_trees as u64, &format!("growing trees on {} rows", y.len()));
    let forest = fit_binned(&binned, &treatment, &y, &params, &|| bar.inc(1))
        .map_err(|e| rename_error(e, &features, &a.treatment_col, &a.outcome_col))?;
    bar.finish_and_clear();

    let file = json!({
        "format": FILE_FORMAT,
        "format_version": FILE_FORMAT_VERSION,
        "features": features.iter().map(|f| json!({"name": f.name, "categories": f.categories})).collect::<Vec<_>>(),
        "feature_names_in": true,
        "treatments": labels,
        "params": {
            "n_trees": params.n_trees,
            "max_depth": params.max_depth,
            "min_samples_leaf": params.min_samples_leaf,
            "min_samples_treatment": params.min_samples_treatment,
            "n_reg": params.n_reg,
            "criterion": crit_name,
            "max_features": params.max_features,
            "bootstrap": params.bootstrap,
            "max_bins": params.max_bins,
            "normalization": params.normalization,
            "seed": params.seed,
            "n_jobs": null,
        },
        "forest": serde_json::to_value(&forest).map_err(|e| Error::Internal(e.to_string()))?,
    });
    let text = serde_json::to_string(&file).map_err(|e| Error::Internal(e.to_string()))?;
    super::write_file(&a.output, &(text + "\n"))?;
    eprintln!(
        "fitted {} trees on {} rows x {} features ({} treated, {} treatment{}) -> {}",
        forest.trees.len(),
        y.len(),
        features.len(),
        treatment.iter().filter(|&&t| t > 0).count(),
        forest.n_groups - 1,
        if forest.n_groups == 2 { "" } else { "s" },
        a.output
    );
    Ok(())
}

/// Reads a model file: its features, the core forest and its treatments' labels (if any).
fn load_model(path: &str) -> Result<(Vec<Feature>, UpliftForest, Option<Vec<String>>)> {
    let text = super::read_file(path)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| Error::invalid(path, format!("is not JSON: {e}")))?;
    if v.get("format").and_then(Value::as_str) != Some(FILE_FORMAT) {
        return Err(Error::invalid(path, format!("is not a liftlab uplift forest (no \"format\": \"{FILE_FORMAT}\")")));
    }
    let version = v.get("format_version").and_then(Value::as_u64);
    if version != Some(FILE_FORMAT_VERSION) {
        return Err(Error::invalid(
            format!("{path}.format_version"),
            format!("is {}; this liftlab reads {FILE_FORMAT_VERSION}", v.get("format_version").unwrap_or(&Value::Null)),
        ));
    }
    let bad_features = || Error::invalid(format!("{path}.features"), "must be a list of {name, categories}");
    let features: Vec<Feature> = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(bad_features)?
        .iter()
        .map(|f| {
            let name = f.get("name").and_then(Value::as_str).ok_or_else(bad_features)?.to_string();
            let categories = match f.get("categories") {
                None | Some(Value::Null) => None,
                Some(Value::Array(c)) => Some(
                    c.iter().map(|s| s.as_str().map(str::to_string).ok_or_else(bad_features)).collect::<Result<_>>()?,
                ),
                Some(_) => return Err(bad_features()),
            };
            Ok(Feature { name, categories })
        })
        .collect::<Result<_>>()?;
    let forest: UpliftForest = serde_json::from_value(v.get("forest").cloned().unwrap_or(Value::Null))
        .map_err(|e| Error::invalid(format!("{path}.forest"), format!("is not an uplift forest: {e}")))?;
    if forest.format_version != FORMAT_VERSION {
        return Err(Error::invalid(
            format!("{path}.forest.format_version"),
            format!("is {}; this liftlab reads {FORMAT_VERSION}", forest.format_version),
        ));
    }
    if forest.n_features != features.len() {
        return Err(Error::invalid(
            format!("{path}.features"),
            format!("lists {} features but the forest has {}", features.len(), forest.n_features),
        ));
    }
    let labels = match v.get("treatments") {
        None | Some(Value::Null) => None,
        Some(Value::Array(l)) if l.len() + 1 == forest.n_groups => Some(
            l.iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::invalid(format!("{path}.treatments"), "must be a list of labels"))?,
        ),
        Some(_) => {
            return Err(Error::invalid(
                format!("{path}.treatments"),
                format!("must list the {} treatments' labels", forest.n_groups - 1),
            ))
        }
    };
    Ok((features, forest, labels))
}

fn run_score(a: ScoreArgs) -> Result<()> {
    data::Format::of(&a.output)?;
    let (mut features, forest, labels) = load_model(&a.model)?;
    let k = forest.n_groups.saturating_sub(1);
    let out_names: Vec<String> = match (k, labels) {
        (1, _) => vec!["uplift".into()],
        (_, Some(l)) => l,
        (_, None) => (1..=k).map(|g| format!("uplift_{g}")).collect(),
    };
    if let Some(c) = out_names.iter().find(|c| a.id_col.contains(c)) {
        return Err(Error::invalid("--id-col", format!("'{c}' is also the name of an uplift column of the output")));
    }
    let pb = super::spinner(&format!("reading {}", a.data));
    let extra: Vec<(&str, Want)> = a.id_col.iter().map(|c| (c.as_str(), Want::Text)).collect();
    let (x, ids) = feature_columns(&a.data, &mut features, &extra, false)?;
    pb.set_message(format!("scoring {} rows with {} trees", x.first().map_or(0, Vec::len), forest.trees.len()));
    let slices: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    let uplift = forest.predict_all(&slices).map_err(|e| rename_error(e, &features, "treatment", "y"))?;
    pb.finish_and_clear();
    let mut columns: Vec<(String, Column)> = Vec::new();
    for (name, col) in a.id_col.iter().zip(ids) {
        let ColData::Text(codes) = col else {
            return Err(Error::Internal(format!("id column '{name}' read as the wrong type")));
        };
        let values = codes.codes.iter().map(|&c| codes.names.get(c as usize).cloned()).collect();
        columns.push((name.clone(), Column::Text(values)));
    }
    let n = uplift.first().map_or(0, Vec::len);
    for (name, u) in out_names.into_iter().zip(uplift) {
        columns.push((name, Column::Float(u.into_iter().map(Some).collect())));
    }
    data::write_table(&a.output, &Table { columns })?;
    eprintln!("scored {n} rows -> {}", a.output);
    Ok(())
}
