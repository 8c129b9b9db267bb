//! SVG line charts of metric trends (plotters, SVG backend: no fonts or bitmaps needed).

use crate::history::trend::Trend;
use crate::units::fmt_value;
use plotters::prelude::*;

/// One chart: the metric's value per point (run or month), with min/max whiskers for monthly
/// points. Returns the SVG text.
pub(crate) fn trend_svg(t: &Trend) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = t.points.len().max(1);
        let (lo, hi) = axis_bounds(t.points.iter().flat_map(|p| [p.min, p.max, p.value]));
        let unit = t.unit.clone();
        let labels: Vec<String> = t.points.iter().map(|p| p.label.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{} ({})", t.name, t.unit), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), lo..hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(n.min(8))
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                labels.get(i).cloned().unwrap_or_default()
            })
            .y_label_formatter(&|y| fmt_value(*y, &unit))
            .x_desc(if t.points.first().is_some_and(|p| p.run == 0) {
                "month"
            } else {
                "run"
            })
            .draw()
            .map_err(|e| e.to_string())?;
        let line: Vec<(f64, f64)> = t
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, clamp(p.value)))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(&t.name);
        chart
            .draw_series(
                line.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, BLUE.filled())),
            )
            .map_err(|e| e.to_string())?;
        for (i, p) in t.points.iter().enumerate() {
            if p.runs > 1 && p.max > p.min {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(i as f64, clamp(p.min)), (i as f64, clamp(p.max))],
                        BLUE.mix(0.4),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Values beyond this are drawn at it: the axis range (and its padding) stays finite, so
/// plotters never computes ticks over an infinite range (a metric of 1.7e308 spun forever).
const AXIS_LIMIT: f64 = 1e300;

fn clamp(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-AXIS_LIMIT, AXIS_LIMIT)
    }
}

/// The y range for these values: finite, non-empty, padded by 10 %, including 0 for positive data.
pub(crate) fn axis_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| !v.is_nan()).map(clamp) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = lo.abs().max(1.0) * 0.1;
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.1;
    ((lo - pad).min(if lo >= 0.0 { 0.0 } else { lo }), hi + pad)
}

/// A file name for a metric's chart: `eval.wall_s` → `eval.wall_s.svg`.
pub(crate) fn file_name(metric: &str) -> String {
    let s: String = metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{s}.svg")
}

/// ▁▂▃▅▇ of the last 24 points.
pub(crate) fn sparkline(v: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let v = &v[v.len().saturating_sub(24)..];
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    v.iter()
        .map(|x| {
            if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                BARS[(((x - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod axis_tests {
    #[test]
    fn huge_and_odd_values_give_a_finite_range() {
        for vals in [
            vec![1.7e308, 1.0],
            vec![f64::MAX, -f64::MAX],
            vec![f64::INFINITY, f64::NAN],
            vec![],
            vec![5.0, 5.0],
        ] {
            let (lo, hi) = super::axis_bounds(vals.into_iter());
            assert!(lo.is_finite() && hi.is_finite() && lo < hi && (hi - lo).is_finite());
        }
    }
}
