//! `mechsim score` and `mechsim compare` on users' own CSV files: forecast scores with a
//! reliability table (and diagram), and the strategy-comparison statistics for any grouped
//! numeric column. Both stream the file row by row (memory: the scores' bins, or the
//! compared values), and name the line and column of any bad value.

use std::path::Path;

use anyhow::{Context, bail};

use super::args::{CompareArgs, ScoreArgs};
use crate::analysis::compare::{MAX_PAIRWISE_GROUPS, compare_groups, rank_groups};
use crate::analysis::forecast::ForecastAccumulator;
use crate::core::table::CsvInput;
use crate::output::plot;

fn column(input: &CsvInput<std::fs::File>, name: &str, flag: &str) -> anyhow::Result<usize> {
    Ok(input.require(name, &format!(" (given by {flag})"))?)
}

/// Streams the data rows of `input`, calling `row` with each record and its 1-based line
/// number (the header is line 1); a malformed row is an error naming its line.
fn for_each_row(
    input: &mut CsvInput<std::fs::File>,
    mut row: impl FnMut(&csv::ByteRecord, u64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut record = csv::ByteRecord::new();
    while let Some(line) = input.next_row(&mut record)? {
        row(&record, line as u64)?;
    }
    Ok(())
}

fn field<'r>(record: &'r csv::ByteRecord, col: usize, path: &Path, line: u64, name: &str) -> anyhow::Result<&'r str> {
    Ok(crate::core::table::field(record, col, path, line as usize, name)?)
}

/// Refuses a `--svg` path that would replace the input or a file that is not a picture
/// (an existing SVG is replaced, atomically).
fn check_chart_path(path: &std::path::Path, input: &std::path::Path) -> anyhow::Result<()> {
    use crate::output::guard::resolve;
    if resolve(path) == resolve(input) {
        bail!(
            "--svg {}: that is the input file; choose another path for the chart",
            path.display()
        );
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() {
        bail!(
            "--svg {}: it exists and is not a regular file (a directory, link or device); choose another path",
            path.display()
        );
    }
    let mut head = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(path)?, 512), &mut head)?;
    let head = String::from_utf8_lossy(&head);
    let picture = head.trim_start().starts_with("<?xml") || head.trim_start().starts_with("<svg");
    if !picture {
        bail!(
            "--svg {}: it exists and is not an SVG picture; mechsim only replaces its own charts (choose another path)",
            path.display()
        );
    }
    Ok(())
}

/// `mechsim score`.
pub(super) fn score(args: &ScoreArgs) -> anyhow::Result<()> {
    let (file, prob, outcome) = (args.file.as_path(), args.prob.as_str(), args.outcome.as_str());
    let (bins, json, svg) = (args.bins as usize, args.json, args.svg.clone());
    if let Some(path) = &svg {
        check_chart_path(path, file)?;
    }
    let mut input = CsvInput::open(file)?;
    let p_col = column(&input, prob, "--prob")?;
    let y_col = column(&input, outcome, "--outcome")?;
    let mut acc = ForecastAccumulator::new(bins);
    for_each_row(&mut input, |record, line| {
        let p_text = field(record, p_col, file, line, prob)?;
        let p: f64 = fast_float2::parse(p_text).ok().with_context(|| {
            format!(
                "{}:{line}: column `{prob}`: expected a probability, found \"{p_text}\"",
                file.display()
            )
        })?;
        let y_text = field(record, y_col, file, line, outcome)?;
        let y = match y_text {
            "1" | "true" | "True" | "TRUE" | "1.0" => 1.0,
            "0" | "false" | "False" | "FALSE" | "0.0" => 0.0,
            other => bail!(
                "{}:{line}: column `{outcome}`: expected 0/1 or true/false, found \"{other}\"",
                file.display()
            ),
        };
        acc.add(p, y)
            .map_err(|e| anyhow::anyhow!("{}:{line}: column `{prob}`: {e}", file.display()))
    })?;
    let Some(scores) = acc.finish() else {
        bail!("{}: no data rows", file.display());
    };
    if let Some(path) = &svg {
        plot::reliability_svg(path, &format!("{} ({prob})", file.display()), &scores.reliability)?;
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&scores)?)?;
        return Ok(());
    }
    outln!("{}: {} forecasts of `{outcome}` by `{prob}`", file.display(), scores.n)?;
    outln!(
        "Brier {:.6}   log loss {:.6}   accuracy {:.4}",
        scores.brier,
        scores.log_loss,
        scores.accuracy
    )?;
    outln!(
        "ECE {:.6} (positive class), {:.6} (top label); MCE {:.6} / {:.6}",
        scores.ece,
        scores.ece_top_label,
        scores.mce,
        scores.mce_top_label
    )?;
    outln!(
        "Balance {:+.6} (accuracy minus mean confidence: 0 is calibrated, negative over-confident; not a proper scoring rule)",
        scores.balance
    )?;
    outln!("\n{:>13} {:>10} {:>12} {:>10}", "bin", "count", "mean p", "observed")?;
    for b in &scores.reliability {
        outln!(
            "{:>13} {:>10} {:>12.4} {:>10.4}",
            format!("[{:.2}, {:.2})", b.low, b.high),
            b.count,
            b.mean_forecast,
            b.observed
        )?;
    }
    if let Some(path) = svg {
        outln!("\nreliability diagram: {}", path.display())?;
    }
    Ok(())
}

/// `mechsim compare`.
pub(super) fn compare(args: &CompareArgs) -> anyhow::Result<()> {
    let (file, group, value) = (args.file.as_path(), args.group.as_str(), args.value.as_str());
    let (paired_by, alpha, seed, json) = (args.paired_by.as_slice(), args.alpha, args.seed, args.json);
    if !(alpha > 0.0 && alpha < 1.0) {
        bail!("--alpha must be in (0, 1), found {alpha}");
    }
    let mut input = CsvInput::open(file)?;
    let g_col = column(&input, group, "--group")?;
    let v_col = column(&input, value, "--value")?;
    let u_cols: Vec<usize> = paired_by
        .iter()
        .map(|u| column(&input, u, "--paired-by"))
        .collect::<anyhow::Result<_>>()?;
    let mut names: Vec<String> = Vec::new();
    let mut values: Vec<Vec<f64>> = Vec::new();
    let mut units: Vec<Vec<String>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for_each_row(&mut input, |record, line| {
        let g = field(record, g_col, file, line, group)?;
        let v_text = field(record, v_col, file, line, value)?;
        let v: f64 = match v_text {
            "true" | "True" => 1.0,
            "false" | "False" => 0.0,
            t => fast_float2::parse(t)
                .ok()
                .filter(|x: &f64| x.abs() <= crate::analysis::stats::MAX_MAGNITUDE)
                .with_context(|| {
                    format!(
                        "{}:{line}: column `{value}`: expected a finite number within ±1e150 (larger ones overflow a variance), found \"{t}\"",
                        file.display()
                    )
                })?,
        };
        let k = match index.get(g) {
            Some(&k) => k,
            None => {
                index.insert(g.to_string(), names.len());
                names.push(g.to_string());
                values.push(Vec::new());
                units.push(Vec::new());
                names.len() - 1
            }
        };
        values[k].push(v);
        if !u_cols.is_empty() {
            let mut key = String::new();
            for (c, name) in u_cols.iter().zip(paired_by) {
                if !key.is_empty() {
                    key.push('\u{1f}');
                }
                key.push_str(field(record, *c, file, line, name)?);
            }
            units[k].push(key);
        }
        Ok(())
    })?;
    if names.len() < 2 {
        bail!(
            "{}: column `{group}` has {} group(s); comparing needs at least two",
            file.display(),
            names.len()
        );
    }
    let result = if names.len() > MAX_PAIRWISE_GROUPS && !args.all_pairs {
        rank_groups(&names, &values, alpha)
    } else {
        compare_groups(
            &names,
            &values,
            (!u_cols.is_empty()).then_some(units.as_slice()),
            alpha,
            seed,
        )
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&result)?)?;
        return Ok(());
    }
    outln!(
        "{}: `{value}` by `{group}`{}",
        file.display(),
        if paired_by.is_empty() {
            String::new()
        } else {
            format!(", paired by `{}`", paired_by.join("`, `"))
        }
    )?;
    outln!(
        "\n{:>4} {:<20} {:>9} {:>12} {:>26} {:>24}",
        "rank",
        "group",
        "n",
        "mean",
        "95% CI",
        "Elo [95% CI]"
    )?;
    let mut ranked = result.groups.clone();
    ranked.sort_by_key(|g| g.rank);
    for g in &ranked {
        outln!(
            "{:>4} {:<20} {:>9} {:>12.5} {:>26} {:>24}",
            g.rank,
            g.group,
            g.n,
            g.mean,
            format!("[{:.5}, {:.5}]", g.ci.0, g.ci.1),
            g.elo
                .map_or("-".to_string(), |(e, (lo, hi))| format!("{e:.0} [{lo:.0}, {hi:.0}]"))
        )?;
    }
    if result.pairs.is_empty() {
        outln!()?;
        for n in &result.notes {
            outln!("note: {n}")?;
        }
        return Ok(());
    }
    outln!(
        "\n{:<44} {:>10} {:>9} {:>10} {:>6} {:>10} {:>6} {:>8} paired (n, diff [95% CI], p)",
        "pair",
        "diff",
        "t",
        "p",
        "Bonf",
        "Holm p",
        "Holm",
        "d"
    )?;
    for p in &result.pairs {
        outln!(
            "{:<44} {:>+10.5} {:>9.3} {:>10.3e} {:>6} {:>10.3e} {:>6} {:>8.3} {}",
            format!("{} - {}", p.a, p.b),
            p.difference,
            p.welch_t,
            p.p,
            if p.bonferroni { "yes" } else { "no" },
            p.holm_p,
            if p.holm { "yes" } else { "no" },
            p.cohens_d,
            p.paired.map_or("-".to_string(), |q| format!(
                "{}, {:+.5} [{:+.5}, {:+.5}], {:.3e}",
                q.n, q.mean_difference, q.ci.0, q.ci.1, q.p
            ))
        )?;
    }
    for n in &result.notes {
        outln!("note: {n}")?;
    }
    Ok(())
}
