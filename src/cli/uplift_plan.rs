//! `liftlab uplift plan`: the contact policy (`uplift::policy::plan_contacts`) over a scored
//! CSV / Parquet file, one uplift column per channel.
//!
//! The output lists the contacted units in the policy's priority order with the columns `id`,
//! `channel`, `uplift` (of the chosen channel), `expected_gain` and `score`, the same as
//! `liftlab.uplift.ContactPlan.write_csv`; the totals are printed. Errors name the flag
//! (`--cost: no cost for channel 'call'`, `--max-spend: is below the cheapest contact (0.05)`)
//! or the column and row (`sms[3]: missing uplift`).

use std::io::Write;

use super::names::Names;
use crate::data::{self, ColData, Column, Table, Want};
use crate::error::{Error, Result};
use crate::uplift::policy::{plan_contacts, Budget};

#[derive(clap::Args, Debug)]
pub(super) struct PlanArgs {
    /// Scored units (.csv or .parquet), e.g. from `liftlab uplift score`.
    #[arg(long)]
    scored: String,
    /// Comma-separated uplift columns, one per channel (the column name is the channel's).
    #[arg(long, value_delimiter = ',', default_value = "uplift")]
    uplift_cols: Vec<String>,
    /// Cost of one contact: `sms=0.05,call=2.0`, or one number for one channel.
    #[arg(long)]
    cost: String,
    /// Value of one conversion (or of one unit of the outcome): one number for every channel, or
    /// `sms=20,call=35` for a value per channel.
    #[arg(long, allow_hyphen_values = true)]
    value: String,
    /// At most this many contacts.
    #[arg(long)]
    max_contacts: Option<usize>,
    /// At most this much spent on contacts.
    #[arg(long, allow_negative_numbers = true)]
    max_spend: Option<f64>,
    /// Unit id column copied to the output [default: `id` if the file has one, else the row
    /// number] (`--id-col` is the deprecated alias, kept for one release).
    #[arg(long = "unit-col", alias = "id-col")]
    id_col: Option<String>,
    /// Output (.csv or .parquet): the contacted units by priority.
    #[arg(short = 'o', long)]
    output: String,
}

/// `--cost` (`flag`) as one cost per channel, in the order of `channels`; with `one_for_all`, a
/// single number holds for every channel (`--value`).
fn parse_per_channel(text: &str, channels: &[String], flag: &str, one_for_all: bool) -> Result<Vec<f64>> {
    let number = |s: &str| -> Result<f64> {
        s.trim().parse::<f64>().map_err(|_| Error::invalid(flag, format!("'{}' is not a number", s.trim())))
    };
    if !text.contains('=') {
        if channels.len() != 1 && !one_for_all {
            return Err(Error::invalid(
                flag,
                format!("a single number is for one channel; give name=cost for each of {}", channels.join(", ")),
            ));
        }
        return Ok(vec![number(text)?]);
    }
    let mut given: Vec<(String, f64)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(Error::invalid(flag, format!("'{part}' is not name=number")));
        };
        let name = name.trim();
        if !channels.iter().any(|c| c == name) {
            return Err(Error::invalid(
                flag,
                format!("'{name}' is not a channel (--uplift-cols: {})", channels.join(", ")),
            ));
        }
        if given.iter().any(|(n, _)| n == name) {
            return Err(Error::invalid(flag, format!("channel '{name}' is given twice")));
        }
        given.push((name.to_string(), number(value)?));
    }
    channels
        .iter()
        .map(|c| {
            given
                .iter()
                .find(|(n, _)| n == c)
                .map(|(_, v)| *v)
                .ok_or_else(|| Error::invalid(flag, format!("no {} for channel '{c}'", flag.trim_start_matches('-'))))
        })
        .collect()
}

/// The core's field names become the flags and columns (the CLI's rename table, `names.rs`).
fn rename_error(e: Error, channels: &[String]) -> Error {
    let names = Names { channels, ..Names::default() };
    e.map_path(|p| names.rename(p))
}

/// `x` with `decimals` decimals, never `-0.00`: a value that rounds to zero prints as zero.
fn rounded(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => text,
    }
}

pub(super) fn run_plan(a: PlanArgs) -> Result<()> {
    data::Format::of(&a.output)?;
    let channels: Vec<String> = a.uplift_cols.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if channels.is_empty() {
        return Err(Error::invalid("--uplift-cols", "no columns given"));
    }
    if let Some(c) = channels.iter().enumerate().find_map(|(k, c)| channels[..k].contains(c).then_some(c)) {
        return Err(Error::invalid("--uplift-cols", format!("'{c}' is given twice")));
    }
    let cost = parse_per_channel(&a.cost, &channels, "--cost", false)?;
    let value = parse_per_channel(&a.value, &channels, "--value", true)?;
    let columns = data::column_names(&a.scored)?;
    let id_col = match &a.id_col {
        Some(c) => Some(c.clone()),
        None => columns.iter().any(|c| c == "id").then(|| "id".to_string()),
    };
    for (c, flag) in channels.iter().map(|c| (c, "--uplift-cols")).chain(id_col.iter().map(|c| (c, "--unit-col"))) {
        if !columns.contains(c) {
            return Err(Error::schema(
                c.as_str(),
                format!("no column '{c}' in {} ({flag}; columns: {})", a.scored, columns.join(", ")),
            ));
        }
    }
    let mut wanted: Vec<(&str, Want)> = channels.iter().map(|c| (c.as_str(), Want::NumberOrNan)).collect();
    if let Some(c) = &id_col {
        wanted.push((c.as_str(), Want::Text));
    }
    let mut cols = data::read_columns(&a.scored, &wanted)?;
    let ids: Option<Vec<Option<String>>> = match id_col.as_ref().and(cols.pop()) {
        Some(ColData::Text(codes)) => Some(codes.codes.iter().map(|&c| codes.names.get(c as usize).cloned()).collect()),
        Some(_) => return Err(Error::Internal("id column read as the wrong type".into())),
        None => None,
    };
    let mut uplift_cols: Vec<Vec<f64>> = Vec::with_capacity(channels.len());
    for (name, col) in channels.iter().zip(cols) {
        let ColData::Number(v) = col else {
            return Err(Error::Internal(format!("column '{name}' read as the wrong type")));
        };
        if let Some(i) = v.iter().position(|u| u.is_nan()) {
            return Err(Error::invalid(format!("{name}[{i}]"), "missing uplift (empty cell or NaN)"));
        }
        uplift_cols.push(v);
    }
    let n = uplift_cols.first().map_or(0, Vec::len);
    let rows: Vec<Vec<f64>> = (0..n).map(|i| uplift_cols.iter().map(|c| c[i]).collect()).collect();
    let mut budgets = Vec::new();
    budgets.extend(a.max_contacts.map(Budget::MaxContacts));
    budgets.extend(a.max_spend.map(Budget::MaxSpend));
    let policy = plan_contacts(&rows, &cost, &value, &budgets).map_err(|e| rename_error(e, &channels))?;

    let contacted = &policy.order[..policy.n_contacts];
    let id_name = id_col.clone().unwrap_or_else(|| "id".into());
    let id_values: Vec<Option<String>> = contacted
        .iter()
        .map(|&i| match &ids {
            Some(ids) => ids[i].clone(),
            None => Some(i.to_string()),
        })
        .collect();
    let chosen = |i: usize| policy.units[i].channel.unwrap_or(0);
    let table = Table {
        columns: vec![
            (id_name, Column::Text(id_values)),
            ("channel".into(), Column::Text(contacted.iter().map(|&i| Some(channels[chosen(i)].clone())).collect())),
            ("uplift".into(), Column::Float(contacted.iter().map(|&i| Some(rows[i][chosen(i)])).collect())),
            (
                "expected_gain".into(),
                Column::Float(contacted.iter().map(|&i| Some(policy.units[i].expected_gain)).collect()),
            ),
            ("score".into(), Column::Float(contacted.iter().map(|&i| Some(policy.units[i].score)).collect())),
        ],
    };
    data::write_table(&a.output, &table)?;

    let mut lines = vec![format!("contacts: {} of {n} units", policy.n_contacts)];
    for (k, c) in channels.iter().enumerate() {
        let count = contacted.iter().filter(|&&i| policy.units[i].channel == Some(k)).count();
        lines.push(format!("  {c}: {count}"));
    }
    // rounded for reading; the file holds the full numbers
    lines.push(format!("spend: {}", rounded(policy.spend, 2)));
    lines.push(format!("expected conversions: {}", rounded(policy.expected_conversions, 1)));
    lines.push(format!("expected net gain: {}", rounded(policy.expected_net_gain, 2)));
    lines.push(format!(
        "profit curve peak: {} at {} contacts",
        rounded(policy.profit_curve.peak_net_gain, 2),
        policy.profit_curve.peak_n_contacted
    ));
    if !policy.optimal {
        lines.push("(a budgeted plan not proven optimal: the instance is beyond the exact search)".into());
    }
    let mut stdout = std::io::stdout().lock();
    for l in lines {
        writeln!(stdout, "{l}").map_err(|e| Error::io("stdout", e))?;
    }
    eprintln!("planned {} contacts -> {}", policy.n_contacts, a.output);
    Ok(())
}
