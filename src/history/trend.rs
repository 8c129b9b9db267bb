//! Trends: each metric's values over time, per run or per calendar month.

use super::{History, HistoryError, RunFilter, stats};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Point {
    /// Run id, or 0 for a monthly point.
    pub run: i64,
    /// Unix seconds (first of the month for monthly points).
    pub at: i64,
    pub label: String,
    pub value: f64,
    /// Runs in the point (1 per run; the month's count for monthly points).
    pub runs: usize,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trend {
    pub name: String,
    pub unit: crate::units::Unit,
    pub points: Vec<Point>,
    pub first: f64,
    pub last: f64,
    /// (last − first) / first.
    pub relative: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

pub(crate) fn trends(
    h: &History,
    f: &RunFilter,
    monthly: bool,
    only: &[String],
) -> Result<Vec<Trend>, HistoryError> {
    let mut out = Vec::new();
    for (name, unit) in h.metric_names(f)? {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let series = h.series(&name, f)?;
        if series.is_empty() {
            continue;
        }
        let points: Vec<Point> = if monthly {
            let mut months: Vec<(String, i64, Vec<f64>)> = Vec::new();
            for (_, at, v) in &series {
                let (y, m, _) = civil(*at);
                let label = format!("{y:04}-{m:02}");
                match months.last_mut() {
                    Some(last) if last.0 == label => last.2.push(*v),
                    _ => months.push((label, month_start(y, m), vec![*v])),
                }
            }
            months
                .into_iter()
                .map(|(label, at, vs)| {
                    let s = stats::summarize(&vs).expect("non-empty month");
                    Point {
                        run: 0,
                        at,
                        label,
                        value: s.mean,
                        runs: s.n,
                        min: s.min,
                        max: s.max,
                    }
                })
                .collect()
        } else {
            series
                .iter()
                .map(|(id, at, v)| Point {
                    run: *id,
                    at: *at,
                    label: format!("#{id} {}", date(*at)),
                    value: *v,
                    runs: 1,
                    min: *v,
                    max: *v,
                })
                .collect()
        };
        let vals: Vec<f64> = series.iter().map(|s| s.2).collect();
        let s = stats::summarize(&vals).expect("non-empty series");
        let first = vals[0];
        let last = *vals.last().unwrap();
        out.push(Trend {
            name,
            unit,
            points,
            first,
            last,
            relative: (first != 0.0).then(|| (last - first) / first.abs()),
            min: s.min,
            max: s.max,
            mean: s.mean,
        });
    }
    Ok(out)
}

/// Unix seconds → (year, month, day) in UTC (proleptic Gregorian, days-from-civil inverted).
pub(crate) fn civil(at: i64) -> (i64, u32, u32) {
    let z = at.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month) → unix seconds of its first day, 00:00 UTC.
pub(crate) fn month_start(y: i64, m: u32) -> i64 {
    let (y, m) = (if m <= 2 { y - 1 } else { y }, m as i64);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

pub(crate) fn date(at: i64) -> String {
    let (y, m, d) = civil(at);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-01-31`, `30d`, `12w`, or unix seconds → unix seconds.
pub(crate) fn parse_since(s: &str, now: i64) -> Option<i64> {
    if let Some(n) = s.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return Some(now - n * 86_400);
    }
    if let Some(n) = s.strip_suffix('w').and_then(|n| n.parse::<i64>().ok()) {
        return Some(now - n * 7 * 86_400);
    }
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(month_start(y, m) + (d - 1) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14));
        assert_eq!(civil(951_782_400), (2000, 2, 29));
        assert_eq!(month_start(2023, 11), 1_698_796_800);
        assert_eq!(parse_since("2000-02-29", 0), Some(951_782_400));
        assert_eq!(parse_since("7d", 1_000_000), Some(1_000_000 - 604_800));
        assert_eq!(parse_since("2000-13-01", 0), None);
    }
}
