//! Pictures: `curve.svg` of a training run (the training win rate and the evaluation win
//! rate with its Wilson 95% band against learner steps) and `regret.svg` of an online
//! information run (mean cumulative regret against T on log-log axes, with the fitted
//! line). SVG only, drawn with plotters, no fonts or system libraries needed.

use std::path::Path;

use plotters::prelude::*;

use crate::core::error::{Error, Result};
use crate::runner::training::CurveRow;

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Draws the learning curve of `rows` into `path` (SVG).
pub fn learning_curve_svg(path: &Path, title: &str, rows: &[CurveRow]) -> Result<()> {
    let max_steps = rows.iter().map(|r| r.steps).max().unwrap_or(1).max(1) as f64;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))
}

/// Draws mean cumulative regret (with 95% intervals) against the horizon on log-log axes,
/// and the least-squares line `fit = (slope, intercept)` of log regret on log T.
pub fn regret_svg(path: &Path, title: &str, points: &[(u64, f64, (f64, f64))], fit: Option<(f64, f64)>) -> Result<()> {
    let positive: Vec<(f64, f64, f64, f64)> = points
        .iter()
        .filter(|p| p.1 > 0.0)
        .map(|&(t, m, (lo, hi))| (t as f64, m, lo.max(m * 1e-3), hi.max(m)))
        .collect();
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))
}
