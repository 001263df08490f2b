//! Pictures: `curve.svg` of a training run (the training win rate and the evaluation win
//! rate with its Wilson 95% band against learner steps) and `regret.svg` of an online
//! information run (mean cumulative regret against T on log-log axes, with the fitted
//! line). SVG only, drawn with plotters, no fonts or system libraries needed.

use std::path::Path;

use plotters::prelude::*;

use crate::core::error::{Error, Result};
use crate::runner::training::CurveRow;

/// Draws a picture of `size` with `draw` and writes it to `path` atomically (a full disk
/// leaves the old file or none, never a truncated one).
fn svg_file(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    let mut text = String::new();
    draw(SVGBackend::with_string(&mut text, size).into_drawing_area())?;
    crate::output::guard::write_atomic(path, text.as_bytes())
}

/// Draws the legend at `position` and finishes the picture.
fn finish<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    root: &DrawingArea<DB, plotters::coord::Shift>,
    position: SeriesLabelPosition,
    path: &Path,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Draws the learning curve of `rows` into `path` (SVG).
pub fn learning_curve_svg(path: &Path, title: &str, rows: &[CurveRow]) -> Result<()> {
    let max_steps = rows.iter().map(|r| r.steps).max().unwrap_or(1).max(1) as f64;
    svg_file(path, (900, 520), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..max_steps, 0f64..1f64)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("learner steps")
            .x_label_formatter(&|x| {
                if max_steps >= 2e6 {
                    format!("{:.1}M", x / 1e6)
                } else {
                    format!("{:.0}k", x / 1e3)
                }
            })
            .y_desc("win rate")
            .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        let training: Vec<(f64, f64)> = rows.iter().map(|r| (r.steps as f64, r.train_win_rate)).collect();
        chart
            .draw_series(LineSeries::new(training, BLUE.mix(0.6).stroke_width(1)))
            .map_err(|e| plot_error(path, e))?
            .label("training rounds")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.6)));
        let evals: Vec<(f64, f64, f64, f64)> = rows
            .iter()
            .filter_map(|r| {
                r.eval
                    .as_ref()
                    .map(|e| (r.steps as f64, e.win_rate, e.win_ci.0, e.win_ci.1))
            })
            .collect();
        if !evals.is_empty() {
            let mut band: Vec<(f64, f64)> = evals.iter().map(|(x, _, _, hi)| (*x, *hi)).collect();
            band.extend(evals.iter().rev().map(|(x, _, lo, _)| (*x, *lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, RED.mix(0.15))))
                .map_err(|e| plot_error(path, e))?;
            chart
                .draw_series(LineSeries::new(
                    evals.iter().map(|(x, y, _, _)| (*x, *y)),
                    RED.stroke_width(2),
                ))
                .map_err(|e| plot_error(path, e))?
                .label("evaluation (Wilson 95% band)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
            chart
                .draw_series(evals.iter().map(|(x, y, _, _)| Circle::new((*x, *y), 3, RED.filled())))
                .map_err(|e| plot_error(path, e))?;
        }
        finish(&mut chart, &root, SeriesLabelPosition::LowerRight, path)
    })
}

/// Draws mean cumulative regret (with 95% intervals) against the horizon on log-log axes,
/// and the least-squares line `fit = (slope, intercept)` of log regret on log T.
pub fn regret_svg(path: &Path, title: &str, points: &[(u64, f64, (f64, f64))], fit: Option<(f64, f64)>) -> Result<()> {
    let positive: Vec<(f64, f64, f64, f64)> = points
        .iter()
        .filter(|p| p.1 > 0.0)
        .map(|&(t, m, (lo, hi))| (t as f64, m, lo.max(m * 1e-3), hi.max(m)))
        .collect();
    svg_file(path, (900, 560), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let x_lo = positive.iter().map(|p| p.0).fold(f64::INFINITY, f64::min).min(1e9);
        let x_hi = positive.iter().map(|p| p.0).fold(0.0, f64::max).max(x_lo * 2.0);
        let y_lo = positive.iter().map(|p| p.2).fold(f64::INFINITY, f64::min).min(1e9);
        let y_hi = positive.iter().map(|p| p.3).fold(0.0, f64::max).max(y_lo * 2.0);
        let (x_lo, y_lo) = if positive.is_empty() { (1.0, 1.0) } else { (x_lo, y_lo) };
        let caption = match fit {
            Some((slope, _)) => format!("{title}: regret vs T (slope {slope:.3}; theory 2/3)"),
            None => format!("{title}: regret vs T"),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(
                (x_lo / 1.3..x_hi * 1.3).log_scale(),
                (y_lo / 1.5..y_hi * 1.5).log_scale(),
            )
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("horizon T (rounds)")
            .y_desc("cumulative regret")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(
                positive
                    .iter()
                    .map(|&(x, _, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], BLUE.mix(0.5).stroke_width(2))),
            )
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(LineSeries::new(
                positive.iter().map(|p| (p.0, p.1)),
                BLUE.stroke_width(2),
            ))
            .map_err(|e| plot_error(path, e))?
            .label("mean regret (95% interval over seeds)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(positive.iter().map(|p| Circle::new((p.0, p.1), 4, BLUE.filled())))
            .map_err(|e| plot_error(path, e))?;
        if let Some((slope, intercept)) = fit {
            let line = [x_lo, x_hi].map(|x| (x, (intercept + slope * x.ln()).exp()));
            chart
                .draw_series(LineSeries::new(line, RED.stroke_width(1)))
                .map_err(|e| plot_error(path, e))?
                .label(format!("fit: regret ~ T^{slope:.3}"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        }
        finish(&mut chart, &root, SeriesLabelPosition::UpperLeft, path)
    })
}

const PALETTE: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

/// Online satisfaction against revenue per fetch of every policy, learners in colours, the
/// Pareto frontier joined by a line.
pub fn pareto_svg(path: &Path, title: &str, points: &[(String, f64, f64, bool)]) -> Result<()> {
    svg_file(path, (900, 600), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for p in points {
            x0 = x0.min(p.2);
            x1 = x1.max(p.2);
            y0 = y0.min(p.1);
            y1 = y1.max(p.1);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let (dx, dy) = (((x1 - x0) * 0.08).max(1e-6), ((y1 - y0) * 0.08).max(1e-6));
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{title}: online satisfaction vs revenue per fetch"),
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0 - dx..x1 + dx, y0 - dy..y1 + dy)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("revenue per fetch")
            .y_desc("satisfaction per fetch")
            .draw()
            .map_err(|e| plot_error(path, e))?;
        let mut learners: Vec<&str> = Vec::new();
        for p in points {
            let base = if p.0.starts_with("fixed_") {
                "fixed"
            } else {
                p.0.as_str()
            };
            if !learners.contains(&base) {
                learners.push(base);
            }
        }
        for (c, learner) in learners.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            let mine: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.0 == *learner || (*learner == "fixed" && p.0.starts_with("fixed_")))
                .map(|p| (p.2, p.1))
                .collect();
            chart
                .draw_series(mine.iter().map(|&(x, y)| Circle::new((x, y), 5, color.filled())))
                .map_err(|e| plot_error(path, e))?
                .label(learner.to_string())
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
        }
        let mut frontier: Vec<(f64, f64)> = points.iter().filter(|p| p.3).map(|p| (p.2, p.1)).collect();
        frontier.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(frontier, BLACK.stroke_width(1)))
            .map_err(|e| plot_error(path, e))?
            .label("Pareto frontier")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        finish(&mut chart, &root, SeriesLabelPosition::LowerLeft, path)
    })
}

/// Cumulative regret against the best contextual policy (solid) and the best fixed load
/// (dashed-looking thin line) over fetches, one colour per algorithm (first replicate).
pub fn regret_curves_svg(path: &Path, title: &str, curves: &[crate::runner::adload::RegretCurve]) -> Result<()> {
    svg_file(path, (900, 560), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let first: Vec<&crate::runner::adload::RegretCurve> = curves.iter().filter(|c| c.replicate == 0).collect();
        let x_max = first
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .max()
            .unwrap_or(1) as f64;
        let y_max = first
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1.max(p.2)))
            .fold(1e-9, f64::max);
        let y_min = first
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1.min(p.2)))
            .fold(0.0, f64::min);
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{title}: cumulative regret"), ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, y_min..y_max * 1.05)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("fetches")
            .y_desc("cumulative regret (expected reward)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        for (c, curve) in first.iter().enumerate() {
            let color = PALETTE[c % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    curve.points.iter().map(|p| (p.0 as f64, p.2)),
                    color.stroke_width(2),
                ))
                .map_err(|e| plot_error(path, e))?
                .label(format!("{} vs best contextual", curve.algorithm))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart
                .draw_series(LineSeries::new(
                    curve.points.iter().map(|p| (p.0 as f64, p.1)),
                    color.mix(0.5).stroke_width(1),
                ))
                .map_err(|e| plot_error(path, e))?
                .label(format!("{} vs best fixed", curve.algorithm))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.mix(0.5)));
        }
        finish(&mut chart, &root, SeriesLabelPosition::UpperLeft, path)
    })
}

/// Reliability diagram: observed frequency against mean forecast per bin (points sized by
/// bin count, labelled with it), with the diagonal of perfect calibration.
pub fn reliability_svg(path: &Path, title: &str, bins: &[crate::analysis::forecast::Bin]) -> Result<()> {
    svg_file(path, (640, 640), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("reliability: {title}"), ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("mean forecast")
            .y_desc("observed frequency")
            .draw()
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4)))
            .map_err(|e| plot_error(path, e))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
        let used: Vec<&crate::analysis::forecast::Bin> = bins.iter().filter(|b| b.count > 0).collect();
        let total: u64 = used.iter().map(|b| b.count).sum::<u64>().max(1);
        chart
            .draw_series(LineSeries::new(
                used.iter().map(|b| (b.mean_forecast, b.observed)),
                BLUE.stroke_width(2),
            ))
            .map_err(|e| plot_error(path, e))?
            .label("observed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(used.iter().map(|b| {
                let r = 3 + (12.0 * (b.count as f64 / total as f64).sqrt()) as i32;
                Circle::new((b.mean_forecast, b.observed), r, BLUE.filled())
            }))
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(used.iter().map(|b| {
                Text::new(
                    format!("{}", b.count),
                    (b.mean_forecast, (b.observed + 0.04).min(0.98)),
                    ("sans-serif", 12),
                )
            }))
            .map_err(|e| plot_error(path, e))?;
        finish(&mut chart, &root, SeriesLabelPosition::UpperLeft, path)
    })
}

/// Win rate per player with its 95% interval: bars from 0 to the rate and error whiskers.
/// `bars` is (label, rate, low, high).
pub fn win_rate_svg(path: &Path, title: &str, bars: &[(String, f64, f64, f64)]) -> Result<()> {
    svg_file(path, (900, 120 + 60 * bars.len().max(1) as u32), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let top = bars.iter().map(|b| b.3).fold(0.0, f64::max).max(0.05) * 1.1;
        let n = bars.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("win rate with Wilson 95% interval: {title}"),
                ("sans-serif", 18),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(10)
            .build_cartesian_2d(0f64..(top * 1.6).min(1.0), 0f64..n)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("win rate")
            .draw()
            .map_err(|e| plot_error(path, e))?;
        for (i, (_, rate, lo, hi)) in bars.iter().enumerate() {
            let y = i as f64 + 0.5;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y - 0.3), (*rate, y + 0.3)],
                    BLUE.mix(0.5).filled(),
                )))
                .map_err(|e| plot_error(path, e))?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*lo, y), (*hi, y)],
                    BLACK.stroke_width(2),
                )))
                .map_err(|e| plot_error(path, e))?;
            for x in [*lo, *hi] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, y - 0.12), (x, y + 0.12)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(|e| plot_error(path, e))?;
            }
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{} {:.3} [{:.3}, {:.3}]", bars[i].0, rate, lo, hi),
                    (hi + top * 0.01, y + 0.1),
                    ("sans-serif", 14),
                )))
                .map_err(|e| plot_error(path, e))?;
        }
        root.present().map_err(|e| plot_error(path, e))
    })
}

/// A named series of (x, mean, low, high) points.
pub type BandSeries = (String, Vec<(f64, f64, f64, f64)>);

/// A metric against a swept parameter: one line per series with its 95% band.
pub fn sweep_svg(path: &Path, title: &str, x_name: &str, y_name: &str, series: &[BandSeries]) -> Result<()> {
    svg_file(path, (900, 560), |root| {
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let points = series.iter().flat_map(|s| s.1.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, _, lo, hi) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(lo);
            y1 = y1.max(hi);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let (dx, dy) = (((x1 - x0) * 0.05).max(1e-9), ((y1 - y0) * 0.08).max(1e-9));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x0 - dx..x1 + dx, y0 - dy..y1 + dy)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_name)
            .y_desc(y_name)
            .draw()
            .map_err(|e| plot_error(path, e))?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))
                .map_err(|e| plot_error(path, e))?;
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))
                .map_err(|e| plot_error(path, e))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart
                .draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, color.filled())))
                .map_err(|e| plot_error(path, e))?;
        }
        finish(&mut chart, &root, SeriesLabelPosition::UpperLeft, path)
    })
}
