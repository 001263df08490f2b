//! `mechsim analyze DIR...`: reads mechsim output directories and writes `report/` with
//! `report.md`, a self-contained `report.html` (tables and inline SVG charts, no network)
//! and `report.json` (every number). Tournaments get the strategy comparison (win rates
//! with Wilson and Wald intervals, payoffs with t intervals, pairwise Welch tests with
//! Bonferroni and Holm, paired tests over shared deals, Elo) and the scoring of learned
//! players' win-probability forecasts; information, ad-load, solver and training runs get
//! their headline numbers and their own charts. Which section a run gets is its kind's
//! business (`ScenarioKind::section`); sweeps get their table and charts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::analysis::compare::compare_groups;
use crate::analysis::forecast::ForecastAccumulator;
use crate::analysis::stats::{Z95, normal_proportion_interval, wilson_interval};
use crate::core::error::{Error, Result};
use crate::core::table::CsvInput;
use crate::output::{Staging, plot};

/// The `kind` in a report's manifest.
const REPORT_KIND: &str = "report";

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))
}

fn write_text(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io("cannot write", path, e))
}

/// Context for the library's errors: what was being done, then the cause.
trait Context<T> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Run(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| Error::Run(what()))
    }
}

/// One analysed directory.
pub struct Section {
    title: String,
    markdown: String,
    html: String,
    json: Value,
    charts: Vec<(String, String)>,
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>)> {
    let input = CsvInput::open(path)?;
    let header = input.header().to_vec();
    Ok((header, input.rows()?))
}

fn col(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

/// Where a rounds.csv keeps each seat's payoff (`coin_change`, else `return`) and its win
/// flag (`won`; without it, a win is a positive payoff): shared by `analyze` and `sweep`.
pub(super) fn outcome_columns(header: &[String]) -> Option<(usize, Option<usize>)> {
    let payoff = col(header, "coin_change").or_else(|| col(header, "return"))?;
    Some((payoff, col(header, "won")))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn table(md: &mut String, html: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(md, "| {} |", head.join(" | "));
    let _ = writeln!(md, "|{}|", head.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    html.push_str("<table><tr>");
    for h in head {
        let _ = write!(html, "<th>{}</th>", html_escape(h));
    }
    html.push_str("</tr>");
    for r in rows {
        let _ = writeln!(md, "| {} |", r.join(" | "));
        html.push_str("<tr>");
        for c in r {
            let _ = write!(html, "<td>{}</td>", html_escape(c));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>\n");
    md.push('\n');
}

pub(crate) fn tournament(dir: &Path, scratch: &Path, index: usize, duplicate: bool) -> Result<Section> {
    let rounds_path = dir.join("rounds.csv");
    // Streamed: only the needed columns of each row are kept.
    let mut reader = CsvInput::open(&rounds_path)?;
    let header: Vec<String> = reader.header().to_vec();
    let decisions = dir.join("decisions.csv");
    let forecasts_present =
        decisions.is_file() && CsvInput::open(&decisions).is_ok_and(|d| d.column("win_probability").is_some());
    let need = |name: &str| {
        col(&header, name).context_with(|| {
            format!(
                "{}: no column `{name}`: is this a rounds.csv from another mechsim version?",
                rounds_path.display()
            )
        })
    };
    let (c_seed, c_table, c_round, c_seat, c_label) = (
        need("seed")?,
        need("table")?,
        need("round")?,
        need("seat")?,
        need("label")?,
    );
    let (c_payoff, c_won) = outcome_columns(&header).context_with(|| {
        format!(
            "{}: no payoff column (`coin_change` or `return`)",
            rounds_path.display()
        )
    })?;
    let number = |r: &csv::ByteRecord, c: usize, line: usize| -> Result<f64> {
        let t = std::str::from_utf8(r.get(c).unwrap_or(b"")).unwrap_or("");
        match t {
            "true" => Ok(1.0),
            "false" => Ok(0.0),
            _ => match t.parse::<f64>() {
                Ok(v) if v.abs() <= crate::analysis::stats::MAX_MAGNITUDE => Ok(v),
                _ => Err(Error::Run(format!(
                    "{}:{line}: column `{}`: expected a finite number within ±1e150, found \"{t}\"",
                    rounds_path.display(),
                    header[c]
                ))),
            },
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut payoffs: Vec<Vec<f64>> = Vec::new();
    let mut wins: Vec<Vec<f64>> = Vec::new();
    let mut units: Vec<Vec<String>> = Vec::new();
    let mut outcome: HashMap<(u64, u64, u64, u64), f64> = HashMap::new();
    let mut places: Vec<Vec<(u64, u64, u64)>> = Vec::new();
    let mut row_count = 0usize;
    let mut record = csv::ByteRecord::new();
    while let Some(line) = reader.next_row(&mut record)? {
        let r = &record;
        row_count += 1;
        let label = std::str::from_utf8(r.get(c_label).unwrap_or(b"")).unwrap_or("");
        let k = match names.iter().position(|n| n == label) {
            Some(k) => k,
            None => {
                names.push(label.to_string());
                payoffs.push(Vec::new());
                wins.push(Vec::new());
                units.push(Vec::new());
                places.push(Vec::new());
                names.len() - 1
            }
        };
        let payoff = number(r, c_payoff, line)?;
        let won = match c_won {
            Some(c) => number(r, c, line)?,
            None => f64::from(u8::from(payoff > 0.0)),
        };
        payoffs[k].push(payoff);
        wins[k].push(won);
        let key = |c: usize| -> Result<u64> {
            let t = std::str::from_utf8(r.get(c).unwrap_or(b"")).unwrap_or("");
            t.parse().context_with(|| {
                format!(
                    "{}:{line}: column `{}`: expected an integer, found \"{t}\"",
                    rounds_path.display(),
                    header[c]
                )
            })
        };
        let (seed, table_index, round) = (key(c_seed)?, key(c_table)?, key(c_round)?);
        places[k].push((seed, table_index, round));
        if forecasts_present {
            outcome.insert((seed, table_index, round, key(c_seat)?), won);
        }
    }
    // The unit every participant shares: the round, or the deal of a duplicate design
    // (every participant plays it once in each seat).
    let participants = names.len().max(1) as u64;
    for (k, list) in places.iter().enumerate() {
        units[k] = list
            .iter()
            .map(|&(seed, t, round)| format!("{seed}/{t}/{}", if duplicate { round / participants } else { round }))
            .collect();
    }
    drop(places);
    let comparison = compare_groups(&names, &payoffs, Some(&units), 0.05, 0);
    let mut md = String::new();
    let mut html = String::new();
    let _ = writeln!(
        md,
        "{} rounds x seats from `{}`. Wins: {}. Paired unit: {}.\n",
        row_count,
        rounds_path.display(),
        if c_won.is_some() {
            "the `won` column"
        } else {
            "a positive `return`"
        },
        if duplicate {
            "the deal (duplicate design: each deal played once per seating)"
        } else {
            "the round"
        }
    );
    let _ = writeln!(
        html,
        "<p>{} rounds x seats. Wins: {}.</p>",
        row_count,
        if c_won.is_some() {
            "the <code>won</code> column"
        } else {
            "a positive return"
        }
    );
    let mut win_rows = Vec::new();
    let mut win_json = Vec::new();
    let mut bars = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let n = wins[k].len() as u64;
        let w = wins[k].iter().sum::<f64>() as u64;
        let (lo, hi) = wilson_interval(w, n, Z95);
        let (wlo, whi) = normal_proportion_interval(w, n, Z95);
        let g = &comparison.groups[k];
        bars.push((name.clone(), w as f64 / n.max(1) as f64, lo, hi));
        win_rows.push(vec![
            g.rank.to_string(),
            name.clone(),
            n.to_string(),
            format!("{:.4} [{lo:.4}, {hi:.4}]", w as f64 / n.max(1) as f64),
            format!("[{wlo:.4}, {whi:.4}]"),
            format!("{:.4} [{:.4}, {:.4}]", g.mean, g.ci.0, g.ci.1),
            g.elo
                .map_or("-".into(), |(e, (a, b))| format!("{e:.0} [{a:.0}, {b:.0}]")),
        ]);
        win_json.push(json!({"label": name, "rounds": n, "wins": w, "win_rate": w as f64 / n.max(1) as f64, "wilson_ci": [lo, hi], "wald_ci": [wlo, whi], "payoff": g}));
    }
    win_rows.sort_by_key(|r| r[0].parse::<usize>().unwrap_or(0));
    let head = [
        "rank (payoff)",
        "player",
        "rounds",
        "win rate [Wilson 95%]",
        "Wald 95%",
        "payoff [t 95%]",
        "Elo [95%]",
    ];
    table(&mut md, &mut html, &head, &win_rows);
    let pair_rows: Vec<Vec<String>> = comparison
        .pairs
        .iter()
        .map(|p| {
            vec![
                format!("{} - {}", p.a, p.b),
                format!("{:+.4}", p.difference),
                format!("{:.3e}", p.p),
                if p.bonferroni { "yes".into() } else { "no".into() },
                format!("{:.3e}", p.holm_p),
                if p.holm { "yes".into() } else { "no".into() },
                format!("{:.3}", p.cohens_d),
                p.paired.map_or("-".into(), |q| {
                    format!(
                        "{:+.4} [{:+.4}, {:+.4}], p {:.2e}",
                        q.mean_difference, q.ci.0, q.ci.1, q.p
                    )
                }),
            ]
        })
        .collect();
    let _ = writeln!(md, "Pairwise payoff comparisons (Welch; paired over shared deals):\n");
    html.push_str("<p>Pairwise payoff comparisons (Welch; paired over shared deals):</p>");
    table(
        &mut md,
        &mut html,
        &[
            "pair",
            "difference",
            "Welch p",
            "Bonferroni",
            "Holm p",
            "Holm",
            "Cohen's d",
            "paired difference [95%]",
        ],
        &pair_rows,
    );
    for n in &comparison.notes {
        let _ = writeln!(md, "Note: {n}\n");
        let _ = writeln!(html, "<p class=note>Note: {}</p>", html_escape(n));
    }
    let mut charts = Vec::new();
    let chart = scratch.join(format!("win_rates_{index}.svg"));
    plot::win_rate_svg(&chart, &dir.display().to_string(), &bars)?;
    charts.push((format!("win_rates_{index}.svg"), read_text(&chart)?));
    // Forecasts: learned players' win probabilities against the outcome of their round.
    let mut forecast_json = Value::Null;
    if forecasts_present {
        let mut dreader = CsvInput::open(&decisions)?;
        let dh: Vec<String> = dreader.header().to_vec();
        if let (Some(cs), Some(ct), Some(cr), Some(cseat), Some(cp)) = (
            col(&dh, "seed"),
            col(&dh, "table"),
            col(&dh, "round"),
            col(&dh, "seat"),
            col(&dh, "win_probability"),
        ) {
            let mut acc = ForecastAccumulator::new(10);
            // Streamed: decisions.csv can be far larger than the rounds.
            let mut record = csv::ByteRecord::new();
            while let Some(line) = dreader.next_row(&mut record)? {
                let text = |c: usize| record.get(c).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
                let p = text(cp);
                if p.is_empty() {
                    continue;
                }
                let p: f64 = p
                    .parse()
                    .context_with(|| format!("{}:{line}: column `win_probability`", decisions.display()))?;
                let key = |c: usize| text(c).parse::<u64>().unwrap_or(u64::MAX);
                if let Some(&y) = outcome.get(&(key(cs), key(ct), key(cr), key(cseat))) {
                    acc.add(p, y)
                        .map_err(|e| Error::Run(format!("{}:{line}: {e}", decisions.display())))?;
                }
            }
            if let Some(s) = acc.finish() {
                let _ = writeln!(
                    md,
                    "Win-probability forecasts ({} decisions): Brier {:.4}, log loss {:.4}, ECE {:.4} (top-label {:.4}), MCE {:.4}, Balance {:+.4}.\n",
                    s.n, s.brier, s.log_loss, s.ece, s.ece_top_label, s.mce, s.balance
                );
                let _ = writeln!(
                    html,
                    "<p>Win-probability forecasts ({} decisions): Brier {:.4}, log loss {:.4}, ECE {:.4} (top-label {:.4}), MCE {:.4}, Balance {:+.4}.</p>",
                    s.n, s.brier, s.log_loss, s.ece, s.ece_top_label, s.mce, s.balance
                );
                let chart = scratch.join(format!("reliability_{index}.svg"));
                plot::reliability_svg(&chart, &decisions.display().to_string(), &s.reliability)?;
                charts.push((format!("reliability_{index}.svg"), read_text(&chart)?));
                forecast_json = json!(s);
            } else {
                let _ = writeln!(
                    md,
                    "No win-probability forecasts in decisions.csv (search values are returns, not probabilities).\n"
                );
            }
        }
    }
    Ok(Section {
        title: format!("Tournament: {}", dir.display()),
        markdown: md,
        html,
        json: json!({"kind": "tournament", "dir": dir.display().to_string(), "players": win_json, "comparison": comparison, "forecasts": forecast_json}),
        charts,
    })
}

pub(crate) fn summary_section(dir: &Path, kind: &str, index: usize) -> Result<Section> {
    let summary_path = dir.join("summary.json");
    let summary: Value = serde_json::from_str(
        &fs::read_to_string(&summary_path).context_with(|| format!("cannot read {}", summary_path.display()))?,
    )
    .context_with(|| format!("{}: not JSON", summary_path.display()))?;
    let mut md = String::new();
    let mut html = String::new();
    let mut rows = Vec::new();
    fn flatten(prefix: &str, v: &Value, rows: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&p, x, rows);
                }
            }
            Value::Number(n) => rows.push(vec![prefix.to_string(), n.to_string()]),
            Value::Bool(b) => rows.push(vec![prefix.to_string(), b.to_string()]),
            Value::String(s) if s.len() < 60 => rows.push(vec![prefix.to_string(), s.clone()]),
            _ => {}
        }
    }
    flatten("", &summary, &mut rows);
    rows.truncate(60);
    let _ = writeln!(
        md,
        "Headline numbers from `{}` (the full file has everything):\n",
        summary_path.display()
    );
    html.push_str("<p>Headline numbers from summary.json:</p>");
    table(&mut md, &mut html, &["field", "value"], &rows);
    let mut charts = Vec::new();
    for name in ["regret.svg", "pareto.svg", "curve.svg"] {
        let p = dir.join(name);
        if p.is_file() {
            charts.push((format!("{}_{index}.svg", name.trim_end_matches(".svg")), read_text(&p)?));
        }
    }
    Ok(Section {
        title: format!("{kind}: {}", dir.display()),
        markdown: md,
        html,
        json: json!({"kind": kind, "dir": dir.display().to_string(), "summary": summary}),
        charts,
    })
}

/// Draws one sweep chart into `scratch` and returns its file name and SVG text.
fn sweep_chart(
    scratch: &Path,
    file: String,
    title: &str,
    x_name: &str,
    y_name: &str,
    series: &[plot::BandSeries],
) -> Result<(String, String)> {
    let chart = scratch.join(&file);
    plot::sweep_svg(&chart, title, x_name, y_name, series)?;
    Ok((file, read_text(&chart)?))
}

/// A sweep's section with its table (`sweep.csv`) and no chart yet.
fn sweep_table(dir: &Path, header: &[String], rows: &[csv::StringRecord]) -> Section {
    let (mut markdown, mut html) = (String::new(), String::new());
    let body: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(String::from).collect()).collect();
    let head: Vec<&str> = header.iter().map(String::as_str).collect();
    table(&mut markdown, &mut html, &head, &body);
    Section {
        title: format!("Sweep: {}", dir.display()),
        markdown,
        html,
        json: json!({"kind": "sweep", "dir": dir.display().to_string(), "rows": body, "columns": header}),
        charts: Vec::new(),
    }
}

/// A sweep: its table, and each metric against the first numeric grid parameter (the other
/// parameters and the player name the series), with 95% bands.
fn sweep_section(dir: &Path, manifest: &Value, scratch: &Path, index: usize) -> Result<Section> {
    let path = dir.join("sweep.csv");
    let (header, rows) = read_csv(&path)?;
    let settings: Vec<String> = manifest["cells"][0]["settings"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["key"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    if col(&header, "win_rate").is_none() {
        return kind_sweep_section(dir, &path, &header, &rows, &settings, scratch, index);
    }
    let need = |name: &str| {
        col(&header, name)
            .context_with(|| format!("{}: no column `{name}` (from another mechsim version?)", path.display()))
    };
    let (c_label, c_rate, c_lo, c_hi) = (
        need("label")?,
        need("win_rate")?,
        need("win_ci_low")?,
        need("win_ci_high")?,
    );
    let (c_pay, c_plo, c_phi) = (need("payoff_mean")?, need("payoff_ci_low")?, need("payoff_ci_high")?);
    let setting_cols: Vec<usize> = settings.iter().filter_map(|k| col(&header, k)).collect();
    // The x axis: the first setting whose values are all numbers.
    let x_axis = setting_cols
        .iter()
        .position(|&c| rows.iter().all(|r| r.get(c).is_some_and(|v| v.parse::<f64>().is_ok())));
    let mut section = sweep_table(dir, &header, &rows);
    let mut charts = Vec::new();
    if let Some(xi) = x_axis {
        let xc = setting_cols[xi];
        for (metric, (cm, cl, ch)) in [
            ("win rate", (c_rate, c_lo, c_hi)),
            ("mean payoff", (c_pay, c_plo, c_phi)),
        ] {
            let mut series: Vec<plot::BandSeries> = Vec::new();
            for r in &rows {
                let mut name = r.get(c_label).unwrap_or("").to_string();
                for (j, &c) in setting_cols.iter().enumerate() {
                    if j != xi {
                        name.push_str(&format!(", {}={}", settings[j], r.get(c).unwrap_or("")));
                    }
                }
                let num = |c: usize| r.get(c).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
                let point = (num(xc), num(cm), num(cl), num(ch));
                match series.iter_mut().find(|s| s.0 == name) {
                    Some(s) => s.1.push(point),
                    None => series.push((name, vec![point])),
                }
            }
            for s in &mut series {
                s.1.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let file = format!("sweep_{}_{index}.svg", metric.replace(' ', "_"));
            let title = format!("{metric} vs {} (95% intervals)", settings[xi]);
            charts.push(sweep_chart(scratch, file, &title, &settings[xi], metric, &series)?);
        }
    }
    section.charts = charts;
    Ok(section)
}

/// A sweep of a kind other than tournaments: its table (one row per cell and replicate),
/// and each headline metric's mean over replicates with its 95% t interval against the
/// first numeric grid parameter (the other parameters name the series).
fn kind_sweep_section(
    dir: &Path,
    path: &Path,
    header: &[String],
    rows: &[csv::StringRecord],
    settings: &[String],
    scratch: &Path,
    index: usize,
) -> Result<Section> {
    let mut section = sweep_table(dir, header, rows);
    let setting_cols: Vec<usize> = settings.iter().filter_map(|k| col(header, k)).collect();
    let first_metric = col(header, "seed")
        .map(|c| c + 1)
        .context_with(|| format!("{}: no column `seed` (from another mechsim version?)", path.display()))?;
    let x_axis = setting_cols
        .iter()
        .position(|&c| rows.iter().all(|r| r.get(c).is_some_and(|v| v.parse::<f64>().is_ok())));
    let mut charts = Vec::new();
    if let Some(xi) = x_axis {
        let xc = setting_cols[xi];
        for (m, metric) in header.iter().enumerate().skip(first_metric) {
            if !rows.iter().all(|r| r.get(m).is_some_and(|v| v.parse::<f64>().is_ok())) {
                continue;
            }
            // Group replicates by series (the other settings) and x.
            let mut groups: Vec<(String, f64, Vec<f64>)> = Vec::new();
            for r in rows {
                let name: String = setting_cols
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != xi)
                    .map(|(j, &c)| format!("{}={}", settings[j], r.get(c).unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", ");
                let x = r.get(xc).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
                let y = r.get(m).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
                match groups.iter_mut().find(|g| g.0 == name && g.1 == x) {
                    Some(g) => g.2.push(y),
                    None => groups.push((name, x, vec![y])),
                }
            }
            let mut series: Vec<plot::BandSeries> = Vec::new();
            for (name, x, ys) in groups {
                let (lo, hi) = crate::analysis::stats::mean_interval(&ys);
                let point = (x, crate::analysis::stats::mean(&ys), lo, hi);
                let name = if name.is_empty() { metric.clone() } else { name };
                match series.iter_mut().find(|s| s.0 == name) {
                    Some(s) => s.1.push(point),
                    None => series.push((name, vec![point])),
                }
            }
            for s in &mut series {
                s.1.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let file = format!("sweep_{}_{index}.svg", metric.replace(['/', ' ', '.'], "_"));
            let title = format!("{metric} vs {} (mean over replicates, 95% intervals)", settings[xi]);
            charts.push(sweep_chart(scratch, file, &title, &settings[xi], metric, &series)?);
        }
    }
    section.charts = charts;
    Ok(section)
}

/// Runs `mechsim analyze`.
/// Writes the report of `dirs` into `out` (default: the first directory's `report/`) and
/// says what it wrote.
pub fn run(dirs: &[PathBuf], out: Option<PathBuf>, force: bool) -> Result<String> {
    if dirs.is_empty() {
        return Err(Error::Run("give at least one output directory".into()));
    }
    let target = out.unwrap_or_else(|| dirs[0].join("report"));
    // Inputs first: a missing or wrong input must not leave an empty report folder behind.
    for dir in dirs {
        if !dir.is_dir() {
            return Err(Error::Run(format!(
                "{} is not a mechsim output directory ({}); give the directory a run, train or sweep wrote",
                dir.display(),
                if dir.exists() {
                    "it is a file"
                } else {
                    "it does not exist"
                }
            )));
        }
        if !dir.join("manifest.json").is_file() {
            return Err(Error::Run(format!(
                "{} is not a mechsim output directory (no manifest.json)",
                dir.display()
            )));
        }
    }
    let inputs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let _lock = crate::output::claim(&target, force, &inputs)?;
    let staging = Staging::new(&target)?;
    let mut sections = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let manifest_path = dir.join("manifest.json");
        let manifest: Value = serde_json::from_str(
            &read_text(&manifest_path)
                .context_with(|| format!("{} is not a mechsim output directory (no manifest.json)", dir.display()))?,
        )
        .context_with(|| format!("{}: not JSON", manifest_path.display()))?;
        let kind = manifest["kind"].as_str().unwrap_or("").to_string();
        if kind == REPORT_KIND {
            return Err(Error::Run(format!(
                "{} is a report mechsim wrote, not a run: analyze the run or sweep directory it came from",
                dir.display()
            )));
        }
        let section = if kind == "sweep" {
            sweep_section(dir, &manifest, staging.path(), i)?
        } else if let Some(k) = crate::kinds::by_name(&kind) {
            k.section(dir, &manifest, staging.path(), i)?
        } else {
            return Err(Error::Run(format!(
                "{}: unknown run kind \"{kind}\" (from another mechsim version?); analyze reads sweeps and runs of \
                 these kinds: {}",
                manifest_path.display(),
                crate::kinds::names().join(", ")
            )));
        };
        sections.push(section);
    }
    let mut md = String::from("# mechsim report\n\n");
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=utf-8><title>mechsim report</title><style>\
         body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}\
         th{background:#eee}.note{color:#555;font-size:90%}svg{max-width:100%;height:auto}</style></head><body>\
         <h1>mechsim report</h1>\n",
    );
    let mut json_sections = Vec::new();
    for s in &sections {
        let _ = writeln!(md, "## {}\n\n{}", s.title, s.markdown);
        let _ = writeln!(html, "<h2>{}</h2>\n{}", html_escape(&s.title), s.html);
        for (name, svg) in &s.charts {
            fs::write(staging.path().join(name), svg).context_with(|| format!("writing {name}"))?;
            let _ = writeln!(md, "![{name}]({name})\n");
            let inline = svg.trim_start_matches(|c| c != '<');
            let _ = writeln!(
                html,
                "<div>{}</div>",
                inline
                    .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                    .unwrap_or(inline)
            );
        }
        json_sections.push(s.json.clone());
    }
    html.push_str("</body></html>\n");
    write_text(&staging.path().join("report.md"), md)?;
    write_text(&staging.path().join("report.html"), html)?;
    let json =
        serde_json::to_string_pretty(&json!({"sections": json_sections})).context_with(|| "report.json".to_string())?;
    write_text(&staging.path().join("report.json"), json + "\n")?;
    let mut files = vec!["report.md", "report.html", "report.json"];
    files.extend(
        sections
            .iter()
            .flat_map(|s| s.charts.iter().map(|(name, _)| name.as_str())),
    );
    let manifest = json!({
        "kind": REPORT_KIND,
        "mechsim_version": env!("CARGO_PKG_VERSION"),
        "inputs": dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        "files": files,
    });
    let manifest = serde_json::to_string_pretty(&manifest).context_with(|| "manifest.json".to_string())?;
    write_text(&staging.path().join("manifest.json"), manifest + "\n")?;
    staging.commit(force)?;
    Ok(format!(
        "wrote {}/{{report.md, report.html, report.json}} ({} section(s))",
        target.display(),
        sections.len()
    ))
}
