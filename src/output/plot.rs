//! Learning-curve pictures: `curve.svg` of a training run, the training win rate and the
//! evaluation win rate with its Wilson 95% band against learner steps. SVG only, drawn with
//! plotters, no fonts or system libraries needed.

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
