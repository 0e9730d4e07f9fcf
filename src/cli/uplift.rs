//! `liftlab uplift fit` / `liftlab uplift score`: the uplift forest over CSV / Parquet files.
//!
//! The model file is `uplift::model_file`'s, the one `liftlab.uplift.UpliftForest.save` writes,
//! so a model fitted on either face scores on the other; its category coding, treatment labels
//! and score column names are the core's too.
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

use super::names::Names;
use crate::data::{self, ColData, Column, Table, Want};
use crate::error::{Detail, Error, FieldPath, Result};
use crate::uplift::forest::{fit_binned, BinnedFeature, ForestParams, SplitCriterion};
use crate::uplift::model_file::{categories_of, category_codes, label_codes, FeatureColumn, ForestFile};
use crate::uplift::treatment_codes as treatment_codes_of;

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
    /// Comma-separated unit id column(s), left out of the default features (`--id-col` is the
    /// deprecated alias, kept for one release).
    #[arg(long = "unit-col", alias = "id-col", value_delimiter = ',')]
    id_col: Vec<String>,
    // `--trees` is the old name, a hidden alias for one release (the name is `n_trees` everywhere)
    /// Number of trees (at most 10,000).
    #[arg(long, alias = "trees", default_value_t = ForestParams::default().n_trees)]
    n_trees: usize,
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
    /// Comma-separated unit id column(s) copied to the output (`--id-col` is the deprecated
    /// alias, kept for one release).
    #[arg(long = "unit-col", alias = "id-col", value_delimiter = ',')]
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

/// The core's field names (`x[j]`, `treatment[i]`, `y[i]`, the forest's parameters) become the
/// file's column names and the flags (the CLI's rename table, `names.rs`).
fn rename_error(e: Error, features: &[FeatureColumn], treatment_col: &str, outcome_col: &str) -> Error {
    let features: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
    let names =
        Names { treatment: Some(treatment_col), outcome: Some(outcome_col), features: &features, channels: &[] };
    e.map_path(|p| names.rename(p))
}

/// Reads the feature columns as the core wants them: numbers (empty = NaN) and categorical codes.
/// When `fitting`, a categorical feature's values are collected and sorted into its categories.
fn feature_columns(
    path: &str,
    features: &mut [FeatureColumn],
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
        e.append(hint)
    })?;

    let feature_cols = cols.split_off(extra.len());
    let mut x = Vec::with_capacity(features.len());
    for (f, col) in features.iter_mut().zip(feature_cols) {
        x.push(match col {
            ColData::Number(v) => v,
            ColData::Text(codes) => {
                let categories = f.categories.get_or_insert_with(Vec::new);
                if fitting {
                    *categories = categories_of(codes.names.iter().map(Some));
                }
                // the dictionary's codes, then each row's (an empty cell is past the dictionary)
                let remap = category_codes(codes.names.iter().map(Some), categories);
                codes.codes.iter().map(|&c| remap.get(c as usize).copied().unwrap_or(f64::NAN)).collect()
            }
            _ => return Err(Error::Internal(format!("column '{}' read as the wrong type", f.name))),
        });
    }
    Ok((x, cols))
}

/// The treatment codes (0 = control, 1..k) and, for text labels, the treatments' labels in code
/// order (the core's rules: `uplift::treatment_codes`, `model_file::label_codes`).
fn treatment_codes(col: ColData, name: &str, control: Option<&str>) -> Result<(Vec<u8>, Option<Vec<String>>)> {
    let rename = |e| rename_error(e, &[], name, "");
    match (col, control) {
        (ColData::Number(t), None) => Ok((treatment_codes_of(&t).map_err(rename)?, None)),
        (ColData::Text(c), Some(control)) => {
            let rows = c.codes.iter().map(|&k| c.names.get(k as usize));
            let (codes, labels) = label_codes(rows, control).map_err(rename)?;
            Ok((codes, Some(labels)))
        }
        _ => Err(Error::Internal("treatment column read as the wrong type".into())),
    }
}

fn run_fit(a: FitArgs) -> Result<()> {
    let crit = SplitCriterion::parse(&a.criterion).map_err(|e| rename_error(e, &[], "", ""))?;
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
    let mut features: Vec<FeatureColumn> = names
        .iter()
        .map(|n| FeatureColumn { name: n.clone(), categories: a.categorical.contains(n).then(Vec::new) })
        .collect();
    let categorical: Vec<usize> = (0..features.len()).filter(|&j| features[j].categories.is_some()).collect();
    let params = ForestParams {
        n_trees: a.n_trees,
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

    let n_treated = treatment.iter().filter(|&&t| t > 0).count();
    let n_groups = forest.n_groups;
    let n_trees = forest.trees.len();
    let file = ForestFile { features, feature_names_in: true, treatments: labels, n_jobs: None, forest };
    super::write_file(&a.output, &(file.to_json()? + "\n"))?;
    eprintln!(
        "fitted {} trees on {} rows x {} features ({} treated, {} treatment{}) -> {}",
        n_trees,
        y.len(),
        file.features.len(),
        n_treated,
        n_groups - 1,
        if n_groups == 2 { "" } else { "s" },
        a.output
    );
    Ok(())
}

fn run_score(a: ScoreArgs) -> Result<()> {
    data::Format::of(&a.output)?;
    let file = ForestFile::from_json(&super::read_file(&a.model)?, &a.model)?;
    let out_names = file.score_columns();
    let ForestFile { mut features, forest, .. } = file;
    if let Some(c) = out_names.iter().find(|c| a.id_col.contains(c)) {
        return Err(Error::invalid("--unit-col", format!("'{c}' is also the name of an uplift column of the output")));
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
