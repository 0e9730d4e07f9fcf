//! An uplift random forest for a binary outcome and one or several treatments, grown natively.
//!
//! **Trees** follow causalml's `UpliftTreeClassifier` (causalml/inference/tree/uplift.pyx,
//! `growDecisionTreeFrom`), which implements Rzepakowski & Jaroszewicz (2012), "Decision trees for
//! uplift modeling with single and multiple treatments", Knowl. Inf. Syst. 32:
//! - a node's *summary* is the outcome rate `p_g` of each group `g` (0 = control); at the root it
//!   is the raw rate, below it is shrunk toward the parent's, `p_g = (pos_g + n_reg·p_parent,g) /
//!   (n_g + n_reg)` when `n_g > min_samples_treatment`, else the parent's rate;
//! - the divergence `D` of a summary is, summed over the treatments `g ≥ 1`:
//!   KL `p_g ln(p_g/p_0) + (1 − p_g) ln((1 − p_g)/(1 − p_0))` (with `p_0` clipped to
//!   `[1e-6, 1 − 1e-6]`, and 0 when `p_0` is exactly 0, as causalml's `kl_divergence` has it),
//!   Euclidean `2 (p_g − p_0)²`, chi-square `(p_g − p_0)²/max(1e-6, p_0) +
//!   (p_g − p_0)²/max(1e-6, 1 − p_0)`; DDP `p_g − p_0`;
//! - the gain of a split into left/right with shares `w_l = n_l/n`, `w_r = 1 − w_l` is
//!   `w_l D(left) + w_r D(right) − D(node)`, divided when `normalization` is on by causalml's
//!   `arr_normI` (Rzepakowski & Jaroszewicz's normalisation `I`, with `α = 0.9` and causalml's
//!   `+0.1` and `+0.5` guards; see `norm_i`); for DDP the gain is `|D(left) − D(right)|`, not
//!   normalised;
//! - a split is admissible when each child has at least `min_samples_leaf` units and each group in
//!   each child at least `min_samples_treatment`; the best positive gain splits;
//! - a leaf predicts the raw rates of its units (causalml's `uplift_classification_results`), and
//!   the uplift is `p_1 − p_0`; the forest averages its trees.
//!
//! **Differences from causalml**, all deliberate: candidate thresholds are the edges of
//! histogram bins computed once on the training data (quantile bins, at most `max_bins ≤ 255`;
//! every distinct value is its own bin when there are few), where causalml tries 11 percentiles of
//! the node's values; `max_depth` counts splits (sklearn's convention: 1 = a stump), where
//! causalml's counts levels (its `max_depth = d` is `d − 1` here); causalml computes its
//! `kl_divergence`, `entropyH` and `normI` helpers in 32-bit floats, here everything is `f64`;
//! a child must have at least `min_samples_leaf` units (causalml also requires strictly more
//! than that for the best split, an off-by-one not copied); the feature subsample
//! (`max_features`, default `⌈√p⌉`) is drawn per node, as causalml does.
//!
//! **Missing values** (NaN) are their own bin: at each candidate threshold the split is tried with
//! the missing units sent left and sent right, and the better direction is kept; a node that saw
//! no missing value of its feature sends them to the child with more training units (ties right),
//! as scikit-learn's `HistGradientBoosting*` does.
//!
//! **Categorical features** (listed in `categorical`, coded as numbers, at most 255 distinct
//! codes) have one bin per code. At each node their codes are ordered by the node's uplift in
//! that code, `p_1 − p_0` (a group absent from a code takes the node's rate; ties by code), and
//! the split is tried after each position of that order, as LightGBM and Fisher (1958) do for a
//! binary criterion; the codes sent left are stored, and a code unseen at that node (or in
//! training) is treated as missing.
//!
//! **Determinism.** Tree `i` draws from ChaCha8 seeded with `seed` on stream `i`, and the trees are
//! collected in index order, so a given seed gives bit-identical forests whatever rayon's thread
//! count. The model serialises with serde, with a `format_version` checked on prediction.
//!
//! **Several treatments** (codes `1..=k` against control `0`, at most [`MAX_GROUPS`] groups): the
//! summaries and leaf rates are per group; the KL / ED / chi-square divergences, causalml's DDP
//! (`Σ_k (p_k − p_0)`, its `evaluate_DDP`) and `norm_i` sum over the treatments, as
//! Rzepakowski & Jaroszewicz (2012, sec. 6) define the multiple-treatment divergence; a
//! categorical feature's codes are tried in the order of each treatment's uplift in turn; every
//! group must have `min_samples_treatment` units in each child. [`UpliftForest::predict_all`]
//! gives the uplift of each treatment over control.
//!
//! **Speed.** Features are binned once to `u8`; a tree's bootstrap sample is kept as a
//! multiplicity per row, so a node's rows are distinct, in increasing order (memory is read
//! forward), and each histogram cell (`2·group + y`) adds the row's multiplicity as an integer.
//! The trees are the ones a list of `n` bootstrap draws gives (same multiset, exact integer sums).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The version of the serialised model; bumped on any change that alters predictions.
pub const FORMAT_VERSION: u32 = 1;

/// The bin of a missing value.
const MISSING: u8 = u8::MAX;
const EPS: f64 = 1e-6;

/// The split criterion (causalml's `evaluationFunction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitCriterion {
    /// Kullback–Leibler divergence (`"KL"`).
    #[default]
    Kl,
    /// Squared Euclidean distance (`"ED"`).
    Ed,
    /// Chi-square divergence (`"Chi"`).
    Chi,
    /// Difference of the uplifts of the two children (`"DDP"`).
    Ddp,
}

/// Parameters of [`fit_uplift_forest`]; names as in causalml's `UpliftRandomForestClassifier`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestParams {
    /// Number of trees, `1..=`[`MAX_TREES`].
    pub n_trees: usize,
    pub criterion: SplitCriterion,
    /// Maximum number of splits from the root to a leaf, `1..=`[`MAX_DEPTH`].
    pub max_depth: usize,
    /// Minimum units in each child of a split.
    pub min_samples_leaf: usize,
    /// Minimum units of each group (control, each treatment) in each child of a split.
    pub min_samples_treatment: usize,
    /// Weight (in units) of the parent's rates in a child's summary.
    pub n_reg: f64,
    /// Features tried at each node; `None` is `⌈√p⌉`.
    pub max_features: Option<usize>,
    /// Histogram bins per feature, at most 255 (missing values take one more).
    pub max_bins: usize,
    /// Grow each tree on a bootstrap sample (n draws with replacement).
    pub bootstrap: bool,
    /// Divide the gain by causalml's normalisation factor (not for DDP).
    pub normalization: bool,
    /// Indices of the categorical features (numeric codes; see the module documentation).
    pub categorical: Vec<usize>,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 100,
            criterion: SplitCriterion::Kl,
            max_depth: 5,
            min_samples_leaf: 100,
            min_samples_treatment: 10,
            n_reg: 10.0,
            max_features: None,
            max_bins: 255,
            bootstrap: true,
            normalization: true,
            categorical: Vec::new(),
            seed: 0,
        }
    }
}

/// A node of a tree; children are indices into the tree's `nodes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// Units with `x[feature] <= threshold` go left; missing ones go left when `missing_left`.
    Split { feature: usize, threshold: f64, missing_left: bool, left: usize, right: usize },
    /// Units whose code is one of `left_codes` (sorted) go left, one of `right_codes` right;
    /// missing values and codes in neither list go left when `missing_left`.
    CategoricalSplit {
        feature: usize,
        left_codes: Vec<f64>,
        right_codes: Vec<f64>,
        missing_left: bool,
        left: usize,
        right: usize,
    },
    /// Outcome rate and count of each group (index 0 = control) among the leaf's training units.
    Leaf { rates: Vec<f64>, counts: Vec<usize> },
}

/// One uplift tree; `nodes[0]` is the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpliftTree {
    pub nodes: Vec<Node>,
}

impl UpliftTree {
    /// The leaf row `row` of `x` falls in; `None` for a malformed tree (a child index or feature
    /// out of range, or a path longer than the tree, as a hand-edited model file may have).
    fn leaf(&self, x: &[&[f64]], row: usize) -> Option<&Node> {
        let mut k = 0;
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(k)? {
                Node::Split { feature, threshold, missing_left, left, right } => {
                    let v = *x.get(*feature)?.get(row)?;
                    let go_left = if v.is_nan() { *missing_left } else { v <= *threshold };
                    k = if go_left { *left } else { *right };
                }
                Node::CategoricalSplit { feature, left_codes, right_codes, missing_left, left, right } => {
                    let v = *x.get(*feature)?.get(row)?;
                    let go_left = if left_codes.contains(&v) {
                        true
                    } else if right_codes.contains(&v) {
                        false
                    } else {
                        *missing_left
                    };
                    k = if go_left { *left } else { *right };
                }
                leaf => return Some(leaf),
            }
        }
        None
    }
}

/// A fitted uplift forest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpliftForest {
    pub format_version: u32,
    pub n_features: usize,
    /// Control plus treatments.
    pub n_groups: usize,
    pub params: ForestParams,
    pub trees: Vec<UpliftTree>,
}

impl UpliftForest {
    /// Predicted uplift `P(y = 1 | treated) − P(y = 1 | control)` of each row of `x` (column-major,
    /// one slice per feature, NaN = missing): the mean over the trees of the leaf's difference.
    /// For a model with one treatment; [`predict_all`](Self::predict_all) gives every treatment's.
    pub fn predict(&self, x: &[&[f64]]) -> Result<Vec<f64>> {
        if self.n_groups != 2 {
            return Err(Error::invalid(
                "treatments",
                format!(
                    "the model has {} treatments; predict_all gives the uplift of each",
                    self.n_groups.saturating_sub(1)
                ),
            ));
        }
        Ok(self.predict_all(x)?.swap_remove(0))
    }

    /// Predicted uplift of each treatment over control, `P(y = 1 | k) − P(y = 1 | control)`: one
    /// vector per treatment `k = 1..n_groups` (element `k − 1`), each the mean over the trees of
    /// the leaf's difference.
    pub fn predict_all(&self, x: &[&[f64]]) -> Result<Vec<Vec<f64>>> {
        if self.format_version != FORMAT_VERSION {
            return Err(Error::invalid(
                "format_version",
                format!("the model has format {}; this liftlab reads {FORMAT_VERSION}", self.format_version),
            ));
        }
        if self.trees.is_empty() || !(2..=MAX_GROUPS).contains(&self.n_groups) {
            return Err(Error::invalid("trees", "the model has no trees or no treatment"));
        }
        let n = super::check_features(x, self.n_features, true)?;
        let k = self.n_groups - 1;
        let mut out = vec![vec![0.0; n]; k];
        for tree in &self.trees {
            for row in 0..n {
                match tree.leaf(x, row) {
                    Some(Node::Leaf { rates, .. }) if rates.len() == self.n_groups => {
                        for (g, o) in out.iter_mut().enumerate() {
                            o[row] += rates[g + 1] - rates[0];
                        }
                    }
                    _ => {
                        return Err(Error::invalid(
                            "trees",
                            "the model is malformed (a node index, feature or leaf's rates do not fit)",
                        ))
                    }
                }
            }
        }
        let trees = self.trees.len() as f64;
        out.iter_mut().flatten().for_each(|o| *o /= trees);
        Ok(out)
    }
}

impl ForestParams {
    /// Checks the parameters for `n_features` features (what [`fit_binned`] checks first; a door
    /// that bins column by column calls it before binning).
    pub fn check(&self, n_features: usize) -> Result<()> {
        check_params(self, n_features)
    }
}

fn check_params(p: &ForestParams, n_features: usize) -> Result<()> {
    if !(1..=MAX_TREES).contains(&p.n_trees) {
        return Err(Error::invalid("n_trees", format!("must be in 1..={MAX_TREES}, got {}", p.n_trees)));
    }
    if !(1..=MAX_DEPTH).contains(&p.max_depth) {
        return Err(Error::invalid("max_depth", format!("must be in 1..={MAX_DEPTH}, got {}", p.max_depth)));
    }
    if p.min_samples_leaf == 0 {
        return Err(Error::invalid("min_samples_leaf", "must be at least 1"));
    }
    if !(p.n_reg >= 0.0 && p.n_reg.is_finite()) {
        return Err(Error::invalid("n_reg", format!("must be a finite number >= 0, got {}", p.n_reg)));
    }
    if !(2..=255).contains(&p.max_bins) {
        return Err(Error::invalid("max_bins", format!("must be in 2..=255, got {}", p.max_bins)));
    }
    if let Some(&j) = p.categorical.iter().find(|&&j| j >= n_features) {
        return Err(Error::invalid("categorical", format!("feature {j} does not exist (there are {n_features})")));
    }
    if let Some(m) = p.max_features {
        if m == 0 || m > n_features {
            return Err(Error::invalid("max_features", format!("must be in 1..={n_features}, got {m}")));
        }
    }
    Ok(())
}

/// Bin edges of one feature: midpoints between distinct values when there are at most
/// `max_bins` of them, else the values at the quantiles `k/max_bins` (deduplicated). A value `v`
/// falls in bin `#{edges < v}`, so `bin ≤ b ⇔ v ≤ edges[b]`.
fn bin_edges(col: &[f64], max_bins: usize) -> Vec<f64> {
    let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_unstable_by(f64::total_cmp);
    let n_distinct = v.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!v.is_empty());
    let mut edges: Vec<f64> = if n_distinct <= max_bins {
        v.windows(2).filter(|w| w[0] != w[1]).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect()
    } else {
        (1..max_bins).map(|k| v[k * v.len() / max_bins]).collect()
    };
    edges.dedup();
    if let Some(&max) = v.last() {
        edges.retain(|&e| e < max);
    }
    edges
}

/// The distinct codes of a categorical feature, sorted; a code's bin is its index, which
/// [`bin_of`] finds as `#{codes < v}`.
fn category_codes(col: &[f64], j: usize) -> Result<Vec<f64>> {
    let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() > 255 {
        return Err(Error::invalid(
            format!("x[{j}]"),
            format!("has {} categories; at most 255 are supported", v.len()),
        ));
    }
    Ok(v)
}

fn bin_of(edges: &[f64], v: f64) -> u8 {
    if v.is_nan() {
        MISSING
    } else {
        // at most 254 edges, so the bin fits below MISSING
        edges.partition_point(|&e| e < v) as u8
    }
}

/// causalml's binary `kl_divergence(pk, qk)`: 0 when `qk` is exactly 0 (sic), otherwise `qk`
/// clipped to `[1e-6, 1 − 1e-6]` and `0 · ln 0 = 0`.
fn kl_divergence(pk: f64, qk: f64) -> f64 {
    if qk == 0.0 {
        return 0.0;
    }
    let qk = qk.clamp(EPS, 1.0 - EPS);
    let mut s = 0.0;
    if pk > 0.0 {
        s += pk * (pk / qk).ln();
    }
    if pk < 1.0 {
        s += (1.0 - pk) * ((1.0 - pk) / (1.0 - qk)).ln();
    }
    s
}

/// causalml's `entropyH(p, q) = −p ln q` (0 when `q ≤ 0`).
fn entropy_h2(p: f64, q: f64) -> f64 {
    if q > 0.0 {
        -p * q.ln()
    } else {
        0.0
    }
}

/// causalml's `entropyH(p) = −p ln p` (0 when `p ≤ 0`).
fn entropy_h(p: f64) -> f64 {
    entropy_h2(p, p)
}

/// causalml's `arr_normI(cur_n, left_n, alpha = 0.9)`: the split normalisation of Rzepakowski &
/// Jaroszewicz (2012, eq. 7 for KL), from the group counts of the node and of its left child.
fn norm_i(cur_n: &[f64], left_n: &[f64]) -> f64 {
    const ALPHA: f64 = 0.9;
    let (n_c, n_c_left) = (cur_n[0], left_n[0]);
    let sum_n_t: f64 = cur_n[1..].iter().sum();
    let sum_n_t_left: f64 = left_n[1..].iter().sum();
    let pt_a = sum_n_t_left / (sum_n_t + 0.1);
    let pc_a = n_c_left / (n_c + 0.1);
    let total = sum_n_t + n_c;
    let mut norm = ALPHA * entropy_h2(sum_n_t / total, n_c / total) * kl_divergence(pt_a, pc_a);
    for g in 1..cur_n.len() {
        let pt_a_i = left_n[g] / (cur_n[g] + 0.1);
        let both = cur_n[g] + n_c;
        norm += (1.0 - ALPHA) * entropy_h2(cur_n[g] / both, n_c / both) * kl_divergence(pt_a_i, pc_a);
        norm += cur_n[g] / total * entropy_h(pt_a_i);
    }
    norm + n_c / total * entropy_h(pc_a) + 0.5
}

fn divergence(criterion: SplitCriterion, p: &[f64]) -> f64 {
    let pc = p[0];
    match criterion {
        SplitCriterion::Kl => p[1..].iter().map(|&pt| kl_divergence(pt, pc)).sum(),
        SplitCriterion::Ed => p[1..].iter().map(|&pt| 2.0 * (pt - pc).powi(2)).sum(),
        SplitCriterion::Chi => {
            p[1..].iter().map(|&pt| (pt - pc).powi(2) / pc.max(EPS) + (pt - pc).powi(2) / (1.0 - pc).max(EPS)).sum()
        }
        SplitCriterion::Ddp => p[1..].iter().map(|&pt| pt - pc).sum(),
    }
}

/// Per-group counts and positives: `stats[2g]` = units of group g, `stats[2g + 1]` = positives.
fn summary_rates(stats: &[f64], parent: Option<&[f64]>, p: &ForestParams) -> Vec<f64> {
    (0..stats.len() / 2)
        .map(|g| {
            let (n, pos) = (stats[2 * g], stats[2 * g + 1]);
            match parent {
                None => {
                    if n > 0.0 {
                        pos / n
                    } else {
                        0.0
                    }
                }
                Some(par) if n > p.min_samples_treatment as f64 => (pos + par[g] * p.n_reg) / (n + p.n_reg),
                Some(par) => par[g],
            }
        })
        .collect()
}

pub use super::{treatment_codes, MAX_GROUPS};

/// The most trees a forest grows (`n_trees`, the CLI's `--trees`): each tree is kept in memory
/// and in the model file; causalml's default is 10, scikit-learn's 100.
pub const MAX_TREES: usize = 10_000;

/// The deepest a tree grows (`max_depth`, in splits): trees are grown by recursion, one stack
/// frame per level, and 2^64 leaves is more than any data set can fill.
pub const MAX_DEPTH: usize = 64;

/// The most threads a door may start for one fit (`n_jobs`): each holds its histograms, and
/// more threads than cores only adds overhead (`UpliftForest(n_jobs=20000)` used to hang
/// starting them).
pub const MAX_JOBS: usize = 256;

/// Checks a thread count asked for (`n_jobs`): `1..=`[`MAX_JOBS`].
pub fn check_jobs(n_jobs: usize) -> Result<()> {
    if !(1..=MAX_JOBS).contains(&n_jobs) {
        return Err(Error::invalid(
            "n_jobs",
            format!("must be in 1..={MAX_JOBS} (or None for every core), got {n_jobs}"),
        ));
    }
    Ok(())
}

/// One feature prepared for growing: its bin edges (numeric) or sorted codes (categorical), and
/// the bin of each row. Binning a column at a time lets a caller holding row-major data convert
/// one column, bin it and drop the copy ([`fit_binned`]), instead of holding a column-major copy
/// of the whole matrix.
#[derive(Clone, Debug)]
pub struct BinnedFeature {
    edges: Vec<f64>,
    bins: Vec<u8>,
    categorical: bool,
}

impl BinnedFeature {
    /// Bins feature `j` (its index names it in errors: `x[j][i]`): quantile bins for a numeric
    /// feature, one bin per code for a categorical one; NaN is missing, infinities are errors.
    pub fn new(col: &[f64], j: usize, categorical: bool, max_bins: usize) -> Result<Self> {
        if !(2..=255).contains(&max_bins) {
            return Err(Error::invalid("max_bins", format!("must be in 2..=255, got {max_bins}")));
        }
        if let Some(i) = col.iter().position(|v| v.is_infinite()) {
            return Err(Error::invalid(format!("x[{j}][{i}]"), "must be finite or NaN (missing)"));
        }
        let edges = if categorical { category_codes(col, j)? } else { bin_edges(col, max_bins) };
        let bins = col.iter().map(|&v| bin_of(&edges, v)).collect();
        Ok(BinnedFeature { edges, bins, categorical })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.bins.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }
}

struct Data<'a> {
    features: &'a [BinnedFeature],
    /// Per row, its histogram cell `2·group + y`.
    cell: Vec<u8>,
    n_groups: usize,
    max_features: usize,
}

struct Best {
    gain: f64,
    feature: usize,
    /// Numeric: the last bin sent left. Categorical: the bins (codes) sent left.
    bin: usize,
    left_bins: Vec<usize>,
    /// The other codes present at the node (categorical only).
    right_bins: Vec<usize>,
    missing_left: bool,
    /// The node had units with this feature missing.
    has_missing: bool,
    n_left: f64,
}

/// Per-group units and positives from cell counts: `stats[2g]` = units of group g,
/// `stats[2g + 1]` = its positives (the layout of [`summary_rates`]).
fn stats_of(cells: &[u32], stats: &mut [f64]) {
    for g in 0..cells.len() / 2 {
        stats[2 * g] = f64::from(cells[2 * g]) + f64::from(cells[2 * g + 1]);
        stats[2 * g + 1] = f64::from(cells[2 * g + 1]);
    }
}

/// Grows the subtree of the units `rows` (sorted row indices, each counted `weight[row]` times:
/// the bootstrap multiplicity) and returns its root's index in `nodes`.
#[allow(clippy::too_many_arguments)]
fn grow(
    d: &Data,
    p: &ForestParams,
    rows: Vec<u32>,
    weight: &[u32],
    depth: usize,
    parent: Option<&[f64]>,
    nodes: &mut Vec<Node>,
    rng: &mut ChaCha8Rng,
) -> usize {
    let width = 2 * d.n_groups;
    let mut total_cells = vec![0u32; width];
    for &r in &rows {
        total_cells[d.cell[r as usize] as usize] += weight[r as usize];
    }
    let mut total = vec![0.0; width];
    stats_of(&total_cells, &mut total);
    let me = nodes.len();
    let leaf = Node::Leaf {
        rates: (0..d.n_groups)
            .map(|g| if total[2 * g] > 0.0 { total[2 * g + 1] / total[2 * g] } else { 0.0 })
            .collect(),
        counts: (0..d.n_groups).map(|g| total[2 * g] as usize).collect(),
    };
    nodes.push(leaf);
    let n: f64 = (0..d.n_groups).map(|g| total[2 * g]).sum();
    if depth >= p.max_depth || n < 2.0 * p.min_samples_leaf as f64 {
        return me;
    }
    let cur = summary_rates(&total, parent, p);
    let cur_score = divergence(p.criterion, &cur);
    let cur_n: Vec<f64> = (0..d.n_groups).map(|g| total[2 * g]).collect();

    // the node's feature subsample: a partial Fisher–Yates shuffle
    let mut features: Vec<usize> = (0..d.features.len()).collect();
    for k in 0..d.max_features {
        let j = rng.random_range(k..features.len());
        features.swap(k, j);
    }
    let mut best: Option<Best> = None;
    let mut cells = vec![0u32; 256 * width];
    let mut hist = vec![0.0; 256 * width];
    let mut left = vec![0.0; width];
    let mut right = vec![0.0; width];
    let mut left_n = vec![0.0; d.n_groups];
    for &f in &features[..d.max_features] {
        let feature = &d.features[f];
        cells.iter_mut().for_each(|h| *h = 0);
        let col = &feature.bins;
        for &r in &rows {
            let r = r as usize;
            cells[col[r] as usize * width + d.cell[r] as usize] += weight[r];
        }
        for (h, c) in hist.chunks_exact_mut(width).zip(cells.chunks_exact(width)) {
            stats_of(c, h);
        }
        let missing = &hist[MISSING as usize * width..];
        let has_missing = missing.iter().any(|&m| m > 0.0);
        // The orders in which bins join the left child: numeric bins in order; categorical codes
        // present at this node by their uplift here (p_k − p_0, an absent group at the node's
        // rate), one order per treatment k.
        let orders: Vec<Vec<usize>> = if feature.categorical {
            let rate = |b: usize, g: usize| {
                let (n_g, pos) = (hist[b * width + 2 * g], hist[b * width + 2 * g + 1]);
                if n_g > 0.0 {
                    pos / n_g
                } else if total[2 * g] > 0.0 {
                    total[2 * g + 1] / total[2 * g]
                } else {
                    0.0
                }
            };
            let present: Vec<usize> =
                (0..feature.edges.len()).filter(|&b| (0..d.n_groups).any(|g| hist[b * width + 2 * g] > 0.0)).collect();
            (1..d.n_groups)
                .map(|k| {
                    let mut by: Vec<(f64, usize)> = present.iter().map(|&b| (rate(b, k) - rate(b, 0), b)).collect();
                    by.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    by.into_iter().map(|(_, b)| b).collect()
                })
                .collect()
        } else {
            vec![(0..=feature.edges.len()).collect()]
        };
        for order in &orders {
            let mut cum = vec![0.0; width];
            for pos in 0..order.len().saturating_sub(1) {
                let b = order[pos];
                for (c, h) in cum.iter_mut().zip(&hist[b * width..(b + 1) * width]) {
                    *c += h;
                }
                for missing_left in [false, true] {
                    if missing_left && !has_missing {
                        continue;
                    }
                    for k in 0..width {
                        left[k] = cum[k] + if missing_left { missing[k] } else { 0.0 };
                        right[k] = total[k] - left[k];
                    }
                    let n_l: f64 = (0..d.n_groups).map(|g| left[2 * g]).sum();
                    let n_r = n - n_l;
                    if n_l < p.min_samples_leaf as f64 || n_r < p.min_samples_leaf as f64 {
                        continue;
                    }
                    let min_group =
                        (0..d.n_groups).map(|g| left[2 * g].min(right[2 * g])).fold(f64::INFINITY, f64::min);
                    if min_group < p.min_samples_treatment as f64 {
                        continue;
                    }
                    let (pl, pr) = (summary_rates(&left, Some(&cur), p), summary_rates(&right, Some(&cur), p));
                    let (sl, sr) = (divergence(p.criterion, &pl), divergence(p.criterion, &pr));
                    let gain = if p.criterion == SplitCriterion::Ddp {
                        (sl - sr).abs()
                    } else {
                        let w = n_l / n;
                        let g = w * sl + (1.0 - w) * sr - cur_score;
                        if p.normalization {
                            (0..d.n_groups).for_each(|g| left_n[g] = left[2 * g]);
                            g / norm_i(&cur_n, &left_n)
                        } else {
                            g
                        }
                    };
                    if gain > best.as_ref().map_or(0.0, |b| b.gain) {
                        let (left_bins, right_bins) = if feature.categorical {
                            (order[..=pos].to_vec(), order[pos + 1..].to_vec())
                        } else {
                            (Vec::new(), Vec::new())
                        };
                        best = Some(Best {
                            gain,
                            feature: f,
                            bin: b,
                            left_bins,
                            right_bins,
                            missing_left,
                            has_missing,
                            n_left: n_l,
                        });
                    }
                }
            }
        }
    }
    drop((cells, hist));
    let Some(mut best) = best else { return me };
    if !best.has_missing {
        best.missing_left = best.n_left > n - best.n_left;
    }
    let feature = &d.features[best.feature];
    let mut goes_left = [false; 256];
    if feature.categorical {
        best.left_bins.iter().for_each(|&b| goes_left[b] = true);
    } else {
        goes_left[..=best.bin].iter_mut().for_each(|g| *g = true);
    }
    goes_left[MISSING as usize] = best.missing_left;
    // a stable partition: both children's rows stay sorted
    let (l_rows, r_rows): (Vec<u32>, Vec<u32>) =
        rows.iter().partition(|&&r| goes_left[feature.bins[r as usize] as usize]);
    drop(rows);
    let l = grow(d, p, l_rows, weight, depth + 1, Some(&cur), nodes, rng);
    let r = grow(d, p, r_rows, weight, depth + 1, Some(&cur), nodes, rng);
    nodes[me] = if feature.categorical {
        let codes = |bins: &[usize]| {
            let mut c: Vec<f64> = bins.iter().map(|&b| feature.edges[b]).collect();
            c.sort_by(f64::total_cmp);
            c
        };
        Node::CategoricalSplit {
            feature: best.feature,
            left_codes: codes(&best.left_bins),
            right_codes: codes(&best.right_bins),
            missing_left: best.missing_left,
            left: l,
            right: r,
        }
    } else {
        Node::Split {
            feature: best.feature,
            threshold: feature.edges[best.bin],
            missing_left: best.missing_left,
            left: l,
            right: r,
        }
    };
    me
}

/// Fits an uplift random forest to a binary outcome `y` (0/1) with `treatment` codes 0 (control)
/// and 1..=k (every code present), on features `x` given column-major (one slice per feature,
/// NaN = missing). See the module documentation for the algorithm.
pub fn fit_uplift_forest(x: &[&[f64]], treatment: &[u8], y: &[f64], params: &ForestParams) -> Result<UpliftForest> {
    super::check_features(x, 0, true)?;
    check_params(params, x.len())?;
    let features: Vec<BinnedFeature> = x
        .par_iter()
        .enumerate()
        .map(|(j, c)| BinnedFeature::new(c, j, params.categorical.contains(&j), params.max_bins))
        .collect::<Result<_>>()?;
    fit_binned(&features, treatment, y, params, &|| {})
}

/// [`fit_uplift_forest`] on features binned by [`BinnedFeature::new`]; `on_tree` is called once
/// each tree is grown (from rayon's threads, in any order), for progress bars.
pub fn fit_binned(
    features: &[BinnedFeature],
    treatment: &[u8],
    y: &[f64],
    params: &ForestParams,
    on_tree: &(dyn Fn() + Sync),
) -> Result<UpliftForest> {
    if features.is_empty() {
        return Err(Error::invalid("x", "has no feature columns"));
    }
    let n = features[0].len();
    if let Some(j) = features.iter().position(|f| f.len() != n) {
        return Err(Error::length_mismatch(format!("x[{j}]"), (features[j].len(), "rows"), "x[0]", (n, "")));
    }
    if n == 0 {
        return Err(Error::insufficient("x", "has no rows"));
    }
    let n_groups = super::check_groups(n, treatment, y)?.len();
    if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::invalid(format!("y[{i}]"), format!("must be 0 or 1, got {}", y[i])));
    }
    if u32::try_from(n).is_err() {
        return Err(Error::invalid("x", format!("has {n} rows; at most {} are supported", u32::MAX)));
    }
    check_params(params, features.len())?;
    if let Some(j) = (0..features.len()).find(|&j| features[j].categorical != params.categorical.contains(&j)) {
        return Err(Error::invalid(
            "categorical",
            format!("feature {j} was binned as {}categorical", if features[j].categorical { "" } else { "not " }),
        ));
    }
    let cell: Vec<u8> = treatment.iter().zip(y).map(|(&t, &v)| 2 * t + u8::from(v == 1.0)).collect();
    let max_features =
        params.max_features.unwrap_or_else(|| (features.len() as f64).sqrt().ceil() as usize).min(features.len());
    let data = Data { features, cell, n_groups, max_features };
    let trees = (0..params.n_trees)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(i as u64);
            // The bootstrap sample as multiplicities: the histograms and the partition of a
            // node see the same multiset of rows as a list of n draws would, in row order.
            let weight: Vec<u32> = if params.bootstrap {
                let mut w = vec![0u32; n];
                for _ in 0..n {
                    w[rng.random_range(0..n as u32) as usize] += 1;
                }
                w
            } else {
                vec![1; n]
            };
            let rows: Vec<u32> = (0..n as u32).filter(|&r| weight[r as usize] > 0).collect();
            let mut nodes = Vec::new();
            grow(&data, params, rows, &weight, 0, None, &mut nodes, &mut rng);
            on_tree();
            UpliftTree { nodes }
        })
        .collect();
    Ok(UpliftForest {
        format_version: FORMAT_VERSION,
        n_features: features.len(),
        n_groups,
        params: params.clone(),
        trees,
    })
}

#[cfg(test)]
#[path = "forest_tests.rs"]
mod tests;
