//! The command line (`liftlab ...`): clap commands over the core.
//!
//! Exit codes: 0 success; 1 a check found a regression; 2 bad input (one line on stderr naming
//! the field); 3 an internal error.

pub mod names;
mod sql;
mod uplift;
mod uplift_plan;

use std::io::Write;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::assign::{self, HashVersion, SavedGroups};
use crate::data::{self, Column, Table};
use crate::error::{Error, FieldPath, Result};
use crate::server::{self, ServerConfig};
use crate::spec::Spec;

#[derive(Parser, Debug)]
#[command(name = "liftlab", version, about = "Experiment assignment and analysis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Check an experiment spec and list its experiments.
    Validate {
        /// Experiment spec (TOML).
        #[arg(long)]
        spec: String,
    },
    /// Assign the units of a CSV/Parquet file to the spec's experiments.
    Assign {
        /// Experiment spec (TOML).
        #[arg(long)]
        spec: String,
        /// Units file (.csv or .parquet); other columns are the units' attributes.
        #[arg(long)]
        units: String,
        /// Output file (.csv or .parquet): unit_id, experiment, variant, reason, bucket.
        #[arg(short = 'o', long)]
        output: String,
        /// Column holding the unit id (`--unit-col`, as `liftlab analyze` says; `--id-col` is its
        /// deprecated alias, kept for one release).
        #[arg(long = "unit-col", alias = "id-col", default_value = "id")]
        unit_col: String,
        /// Only this experiment (default: all).
        #[arg(long)]
        experiment: Option<String>,
    },
    /// GrowthBook-compatible hash of a value, in [0, 1).
    Hash {
        #[arg(long)]
        seed: String,
        #[arg(long)]
        value: String,
        /// Hash version: 1 or 2.
        #[arg(long, default_value_t = HashVersion::default_number())]
        version: i64,
    },
    /// Bucket ranges for a number of variants, a coverage and weights.
    BucketRanges {
        #[arg(long)]
        n_variants: usize,
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        coverage: f64,
        /// Comma-separated weights (default equal).
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        weights: Option<Vec<f64>>,
    },
    /// The variant whose range holds a hash.
    ChooseVariant {
        #[arg(long, allow_negative_numbers = true)]
        hash: f64,
        /// Ranges as JSON: [[0, 0.5], [0.5, 1]].
        #[arg(long)]
        ranges: String,
    },
    /// Whether a unit falls in a namespace slice [start, end).
    InNamespace {
        #[arg(long)]
        unit_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        start: f64,
        #[arg(long)]
        end: f64,
    },
    /// Sample-ratio-mismatch check: observed units per variant against the weights.
    Srm {
        /// Comma-separated counts per variant.
        #[arg(long, value_delimiter = ',')]
        observed: Vec<u64>,
        /// Comma-separated weights per variant.
        #[arg(long, value_delimiter = ',')]
        weights: Vec<f64>,
        /// Alarm threshold on the p-value.
        #[arg(long, default_value_t = crate::stats::SRM_ALPHA)]
        alpha: f64,
    },
    /// Analyse an experiment: exposures + outcomes (or a warehouse's statistics) -> JSON report
    /// (and HTML / Markdown).
    Analyze(AnalyzeArgs),
    /// Print the SQL that computes an experiment's sufficient statistics in a warehouse, from
    /// the spec's [catalog] (run it, then `liftlab analyze --stats`).
    Sql(sql::SqlArgs),
    /// Check a report: exit 1 on an SRM, a violated guardrail or drift from a baseline.
    Check {
        /// The report to check (JSON from `liftlab analyze`).
        #[arg(long)]
        report: String,
        /// A baseline report: any number that moved beyond the tolerance is a regression.
        #[arg(long)]
        baseline: Option<String>,
        /// Relative tolerance of the baseline comparison.
        #[arg(long, default_value_t = 1e-6)]
        rel_tol: f64,
        /// Absolute tolerance of the baseline comparison.
        #[arg(long, default_value_t = 1e-12)]
        abs_tol: f64,
        /// Also write the result as JUnit XML.
        #[arg(long)]
        junit: Option<String>,
    },
    /// Project the topline change of an expected change: the interval, the PRD formula, the
    /// test plan and a reality check from history (TOML with [model], [plan], [history]).
    Forecast {
        /// Forecast file (TOML with [model]), or an experiment spec with [[forecasts]].
        #[arg(long)]
        spec: String,
        /// With an experiment spec: the experiment whose forecast to run (needed when it has several).
        #[arg(long)]
        experiment: Option<String>,
        /// Print the full result as JSON instead of the summary.
        #[arg(long)]
        json: bool,
        /// The language of the forecast's sentences: en or zh-CN (overrides the file's
        /// `language`; default: the file's, else en).
        #[arg(long)]
        language: Option<String>,
        /// Also write the forecast as a self-contained HTML page: the tables, the formula and the
        /// charts (the same as the Python notebook display).
        #[arg(long)]
        html: Option<String>,
    },
    /// Uplift modelling: fit an uplift random forest, score units with it, plan whom to contact.
    Uplift {
        #[command(subcommand)]
        command: uplift::UpliftCommand,
    },
    /// Evaluate a targeting condition (JSON) against attributes (JSON).
    EvalCondition {
        #[arg(long)]
        condition: String,
        #[arg(long, default_value = "{}")]
        attributes: String,
        /// Saved groups as JSON: {"name": [values]}.
        #[arg(long)]
        groups: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Experiment spec (TOML) with metrics.
    #[arg(long)]
    spec: String,
    /// The experiment to analyse (default: the spec's only experiment).
    #[arg(long)]
    experiment: Option<String>,
    /// Exposures (.csv / .parquet): unit, variant, optional first-exposure time and segments.
    #[arg(long, required_unless_present = "stats")]
    exposures: Option<String>,
    /// Outcomes (.csv / .parquet): unit and metric columns, one row per unit.
    #[arg(long, required_unless_present = "stats")]
    outcomes: Option<String>,
    /// Instead of exposures and outcomes: the answer of the `liftlab sql` query (.json, .jsonl,
    /// .csv or .parquet).
    #[arg(long, conflicts_with_all = ["exposures", "outcomes"])]
    stats: Option<String>,
    /// Unit id column (in both files).
    #[arg(long, default_value = "unit_id")]
    unit_col: String,
    /// Variant column of the exposures.
    #[arg(long, default_value = "variant")]
    variant_col: String,
    /// First-exposure time column (dates or times) for the cumulative chart.
    #[arg(long)]
    time_col: Option<String>,
    /// JSON report output.
    #[arg(short = 'o', long)]
    output: String,
    /// Self-contained HTML report output.
    #[arg(long)]
    html: Option<String>,
    /// Markdown summary output.
    #[arg(long)]
    markdown: Option<String>,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Config file (TOML); flags and LIFTLAB_* variables override it.
    #[arg(long, env = "LIFTLAB_CONFIG")]
    config: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    bind: Option<String>,
    /// SQLite database file [default: liftlab.db].
    #[arg(long)]
    database: Option<String>,
    /// Bearer token accepted on write routes (repeatable).
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Experiment spec to load at start.
    #[arg(long)]
    spec: Option<String>,
    /// Largest request body in bytes [default: 8 MiB].
    #[arg(long)]
    body_limit_bytes: Option<usize>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// Bearer token that opens the expensive read routes (repeatable); with none they are open.
    #[arg(long = "read-token")]
    read_tokens: Vec<String>,
    /// Open connections at most [default: 1024].
    #[arg(long)]
    max_connections: Option<usize>,
}

fn read_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn parse_json(text: &str, field: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::invalid(field, format!("is not valid JSON: {e}")))
}

fn load_spec(path: &str) -> Result<Spec> {
    Spec::from_toml(&read_file(path)?).map_err(|e| e.within(FieldPath::key(path)))
}

fn print_json(v: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").map_err(|e| Error::io("stdout", e))
}

fn serve_config(a: ServeArgs) -> Result<(ServerConfig, Option<String>)> {
    let mut c = match &a.config {
        Some(p) => ServerConfig::from_toml(&read_file(p)?, p)?,
        None => ServerConfig::default(),
    };
    c.apply_env(|k| std::env::var(k).ok())?;
    if let Some(b) = a.bind {
        c.bind = b;
    }
    if let Some(d) = a.database {
        c.database = d;
    }
    if !a.tokens.is_empty() {
        c.tokens = a.tokens;
    }
    if let Some(s) = a.spec {
        c.spec = Some(s);
    }
    if let Some(l) = a.body_limit_bytes {
        c.body_limit_bytes = l;
    }
    if a.workers.is_some() {
        c.workers = a.workers;
    }
    if !a.read_tokens.is_empty() {
        c.read_tokens = a.read_tokens;
    }
    if let Some(m) = a.max_connections {
        c.max_connections = m;
    }
    let text = match &c.spec {
        Some(p) => Some(read_file(p)?),
        None => None,
    };
    Ok((c, text))
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn run_assign(spec: &str, units: &str, output: &str, id_col: &str, experiment: Option<&str>) -> Result<()> {
    let spec = load_spec(spec)?;
    data::Format::of(output)?;
    let keys: Vec<String> = match experiment {
        Some(k) => vec![spec.experiment(k)?.key.clone()],
        None => spec.experiments.iter().map(|e| e.key.clone()).collect(),
    };
    if keys.is_empty() {
        return Err(Error::invalid("spec", "has no experiments"));
    }
    let mut with_attributes = false;
    for k in &keys {
        with_attributes |= assign::needs_attributes(&spec, k)?;
    }
    let units = data::read_units(units, id_col, with_attributes)?;
    let n = units.ids.len();
    let pb = progress_bar((n * keys.len()) as u64, "assigning");
    let long = assign::assign_long(&spec, Some(&keys), &units.ids, units.attributes.as_deref(), &mut |done| {
        pb.set_position(done as u64)
    })
    .map_err(|e| e.within(FieldPath::key(id_col)))?;
    pb.finish_and_clear();
    let table = Table {
        columns: vec![
            ("unit_id".into(), Column::Text(long.unit_id.into_iter().map(Some).collect())),
            ("experiment".into(), Column::Text(long.experiment.into_iter().map(Some).collect())),
            ("variant".into(), Column::Text(long.variant)),
            ("reason".into(), Column::Text(long.reason.iter().map(|r| Some(r.as_str().to_string())).collect())),
            ("bucket".into(), Column::Float(long.bucket)),
        ],
    };
    data::write_table(output, &table)?;
    eprintln!("assigned {n} units x {} experiment(s) -> {output}", keys.len());
    Ok(())
}

fn write_file(path: &str, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn spinner(what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb.set_message(what.to_string());
    pb
}

fn run_analyze(a: AnalyzeArgs) -> Result<()> {
    let spec = load_spec(&a.spec)?;
    let key = sql::experiment_key(&spec, a.experiment.as_deref())?;
    for out in [Some(&a.output), a.html.as_ref(), a.markdown.as_ref()].into_iter().flatten() {
        if let Some(dir) = std::path::Path::new(out).parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(Error::io(out, "its folder does not exist"));
            }
        }
    }
    let exp = spec.experiment(&key)?;
    let (exposures_path, outcomes_path) = match (&a.stats, &a.exposures, &a.outcomes) {
        (Some(stats), _, _) => {
            let data = sql::read_stats(&spec, &key, stats)?;
            return write_report(&a, &key, crate::report::analyze_experiment(&spec, &key, &data)?);
        }
        (None, Some(e), Some(o)) => (e, o),
        _ => return Err(Error::invalid("exposures", "give --exposures and --outcomes, or --stats")),
    };
    let pb = spinner("reading exposures and outcomes");
    let t0 = std::time::Instant::now();
    let columns: Vec<&str> = exp.metrics.iter().flat_map(|&i| spec.metrics[i].columns()).collect();
    // the two files are independent: read them on two threads
    let (exposures, outcomes) = std::thread::scope(|s| {
        let e = s.spawn(|| {
            data::read_exposures(
                exposures_path,
                &a.unit_col,
                &a.variant_col,
                a.time_col.as_deref(),
                &exp.analysis.segments,
            )
            .map_err(|e| e.within("exposures"))
        });
        let o = data::read_outcomes(outcomes_path, &a.unit_col, &columns).map_err(|e| e.within("outcomes"));
        let e = e.join().unwrap_or_else(|_| Err(Error::Internal("the exposures reader panicked".into())));
        (e, o)
    });
    let (exposures, outcomes) = (exposures?, outcomes?);
    let t_read = t0.elapsed();
    pb.set_message("joining and aggregating");
    let agg = crate::report::aggregate_experiment(&spec, &key, &exposures, &outcomes)?;
    let t_agg = t0.elapsed() - t_read;
    pb.set_message("analysing");
    let report = crate::report::analyze_experiment(&spec, &key, &agg)?;
    tracing::debug!(read = ?t_read, aggregate = ?t_agg, analyse = ?(t0.elapsed() - t_read - t_agg), "analyze timings");
    pb.finish_and_clear();
    write_report(&a, &key, report)
}

/// Writes the JSON report (and the HTML and Markdown ones asked for) and says what was decided.
fn write_report(a: &AnalyzeArgs, key: &str, report: crate::report::Report) -> Result<()> {
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&a.output, &(json + "\n"))?;
    if let Some(h) = &a.html {
        write_file(h, &crate::report::render::render_html(&report))?;
    }
    if let Some(m) = &a.markdown {
        write_file(m, &crate::report::render::render_markdown(&report))?;
    }
    eprintln!(
        "{key}: {}{} ({} units, {} metrics) -> {}",
        report.decision.verdict.as_str(),
        report.decision.variant.as_ref().map_or(String::new(), |v| format!(" {v}")),
        report.data.n_total,
        report.metrics.len(),
        a.output
    );
    Ok(())
}

fn run_check(
    report: &str,
    baseline: Option<&str>,
    tol: crate::report::check::Tolerance,
    junit: Option<&str>,
) -> Result<i32> {
    let load = |p: &str, field: &str| -> Result<Value> {
        serde_json::from_str(&read_file(p)?).map_err(|e| Error::invalid(field, format!("{p} is not JSON: {e}")))
    };
    let r = load(report, "report")?;
    let b = baseline.map(|p| load(p, "baseline")).transpose()?;
    let result = crate::report::check::check_report(&r, b.as_ref(), &tol)?;
    let name = r.get("experiment").and_then(Value::as_str).unwrap_or("report").to_string();
    if let Some(j) = junit {
        write_file(j, &crate::report::check::junit_xml(&name, &result))?;
    }
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| writeln!(out, "{line}").map_err(|e| Error::io("stdout", e));
    for p in &result.problems {
        say(format!("FAIL {p}"))?;
    }
    for p in &result.passed {
        say(format!("ok   {p}"))?;
    }
    if baseline.is_some() {
        if result.drifts.is_empty() {
            say("ok   no change from the baseline".into())?;
        } else {
            say(format!("CHANGED {} value(s) moved from the baseline beyond the tolerance:", result.drifts.len()))?;
            for d in &result.drifts {
                say(format!("  {d}"))?;
            }
        }
    }
    say(format!("{name}: {}", result.verdict()))?;
    Ok(if result.ok() { 0 } else { 1 })
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Analyze(a) => run_analyze(a).map(|()| 0),
        Command::Sql(a) => sql::run_sql(a).map(|()| 0),
        Command::Check { report, baseline, rel_tol, abs_tol, junit } => {
            if !(rel_tol >= 0.0) || !(abs_tol >= 0.0) {
                return Err(Error::invalid("rel_tol", "tolerances must be >= 0"));
            }
            run_check(
                &report,
                baseline.as_deref(),
                crate::report::check::Tolerance { rel: rel_tol, abs: abs_tol },
                junit.as_deref(),
            )
        }
        Command::Forecast { spec, experiment, json, language, html } => {
            run_forecast(&spec, experiment.as_deref(), json, language.as_deref(), html.as_deref()).map(|()| 0)
        }
        Command::Uplift { command } => uplift::run_uplift(command).map(|()| 0),
        other => run_simple(other).map(|()| 0),
    }
}

fn run_forecast(
    path: &str,
    experiment: Option<&str>,
    json: bool,
    language: Option<&str>,
    html: Option<&str>,
) -> Result<()> {
    let mut req = crate::forecast::request_from_toml(&read_file(path)?, path, experiment)?;
    if let Some(l) = language {
        // the same words and error as the request's `language` field at the other doors
        req.language = serde_json::from_value(Value::String(l.to_string()))
            .map_err(|e| Error::invalid("language", e.to_string()))?;
    }
    let out = crate::forecast::forecast_impact(&req)?;
    if let Some(h) = html {
        write_file(h, &crate::forecast::render::render_page(&req, &out)?)?;
    }
    if json {
        return print_json(&serde_json::to_value(&out).map_err(|e| Error::Internal(e.to_string()))?);
    }
    print!("{}", crate::forecast::render::render_text(&out));
    for w in &out.warnings {
        eprintln!("warning: {}: {}", w.field, w.message);
    }
    Ok(())
}

fn run_simple(command: Command) -> Result<()> {
    match command {
        Command::Analyze(_)
        | Command::Sql(_)
        | Command::Check { .. }
        | Command::Forecast { .. }
        | Command::Uplift { .. } => Err(Error::Internal("dispatched by run".into())),
        Command::Serve(args) => {
            server::init_logging();
            let (config, text) = serve_config(args)?;
            server::serve(config, text)
        }
        Command::Validate { spec } => {
            let s = load_spec(&spec)?;
            let exps: Vec<Value> = s
                .experiments
                .iter()
                .map(|e| json!({"key": e.key, "variants": e.variants, "weights": e.weights, "coverage": e.coverage, "layer": e.layer}))
                .collect();
            print_json(&json!({"valid": true, "experiments": exps}))
        }
        Command::Assign { spec, units, output, unit_col, experiment } => {
            run_assign(&spec, &units, &output, &unit_col, experiment.as_deref())
        }
        Command::Hash { seed, value, version } => {
            let v = HashVersion::from_number(version, "version")?;
            print_json(&json!({"hash": assign::hash_unit(&seed, &value, v)}))
        }
        Command::BucketRanges { n_variants, coverage, weights } => {
            let r = assign::bucket_ranges(n_variants, coverage, weights.as_deref())?;
            print_json(&json!({"ranges": r.iter().map(|(s, e)| [*s, *e]).collect::<Vec<_>>()}))
        }
        Command::ChooseVariant { hash, ranges } => {
            let r: Vec<[f64; 2]> = serde_json::from_str(&ranges)
                .map_err(|e| Error::invalid("ranges", format!("must be JSON like [[0, 0.5], [0.5, 1]]: {e}")))?;
            let r: Vec<(f64, f64)> = r.iter().map(|x| (x[0], x[1])).collect();
            print_json(&json!({"variant_index": assign::choose_variant(hash, &r)}))
        }
        Command::InNamespace { unit_id, name, start, end } => {
            print_json(&json!({"in_namespace": assign::in_namespace(&unit_id, &name, start, end)}))
        }
        Command::Srm { observed, weights, alpha } => {
            let r = crate::stats::check_srm(&observed, &weights, alpha)?;
            print_json(&serde_json::to_value(r).map_err(|e| Error::Internal(e.to_string()))?)
        }
        Command::EvalCondition { condition, attributes, groups } => {
            let c = parse_json(&condition, "condition")?;
            let a = parse_json(&attributes, "attributes")?;
            let g: SavedGroups = match groups {
                Some(g) => serde_json::from_value(parse_json(&g, "groups")?)
                    .map_err(|e| Error::invalid("groups", format!("must map names to arrays: {e}")))?,
                None => SavedGroups::new(),
            };
            print_json(&json!({"result": assign::eval_condition(&c, &a, &g)?}))
        }
    }
}

/// Runs the CLI with the process arguments; returns the exit code.
pub fn main() -> i32 {
    main_with(std::env::args_os())
}

/// Runs the CLI with the given arguments; returns the exit code.
pub fn main_with<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { 2 } else { 0 };
            }
            // One line: clap's first line, without the usage block.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            eprintln!("error: invalid_input: {} (see liftlab --help)", first.join(" "));
            return 2;
        }
    };
    match run(cli) {
        Ok(code) => {
            // after the work, so that an input error stays the one line on stderr
            for w in names::deprecation_warnings(&args) {
                eprintln!("{w}");
            }
            code
        }
        Err(e) => {
            eprintln!("error: {}: {e}", e.code());
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
