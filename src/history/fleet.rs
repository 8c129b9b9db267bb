//! The fleet view: reports (build-metrics.json) and history databases of several hosts merged
//! into one table, one row per host and target, worst first, saying which regressed and how.

use super::RunKind;
use super::alerts::AlertKind;
use super::tracking_report::Report;
use crate::units::Unit;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct FleetRow {
    pub host: String,
    pub target: String,
    pub kind: RunKind,
    pub run: i64,
    pub date: String,
    pub status: String,
    /// Regressed metrics with their relative change (percent), largest first.
    pub regressions: Vec<(String, f64)>,
    pub alerts: Vec<String>,
    /// Headline metrics: name, value, unit.
    pub metrics: Vec<(String, f64, Unit)>,
    /// Which file the row came from.
    pub source: String,
}

fn rank(status: &str) -> u8 {
    match status {
        "regressed" => 0,
        "alert" => 1,
        "ok" => 2,
        _ => 3,
    }
}

impl FleetRow {
    fn worst(&self) -> f64 {
        self.regressions.first().map_or(0.0, |r| r.1)
    }
}

/// Worst first: regressed, then alerting, then fine; by the largest regression within.
pub(crate) fn sort(rows: &mut [FleetRow]) {
    rows.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then(b.worst().total_cmp(&a.worst()))
            .then(a.host.cmp(&b.host))
            .then(a.target.cmp(&b.target))
    });
}

/// The parts of a tracking report ([`Report`], `nixperf report --format json`) the fleet view
/// reads. Required: `host`, `run.id`, `run.target`, `summary.metrics`, `alerts`; the rest has
/// defaults, and summary metrics without a name, value or unit are left out.
#[derive(Deserialize)]
struct ReportJson {
    host: String,
    run: RunJson,
    summary: SummaryJson,
    alerts: Vec<AlertJson>,
}

#[derive(Deserialize)]
struct RunJson {
    id: i64,
    target: String,
    kind: Option<RunKind>,
    started_at: Option<i64>,
}

#[derive(Deserialize)]
struct SummaryJson {
    status: Option<String>,
    metrics: Vec<SummaryMetricJson>,
}

#[derive(Deserialize)]
struct SummaryMetricJson {
    name: Option<String>,
    value: Option<f64>,
    unit: Option<Unit>,
}

#[derive(Deserialize)]
struct AlertJson {
    /// Kept as text: an alert kind this nixperf does not know is neither kind, not an error.
    kind: Option<String>,
    metric: Option<String>,
    value: Option<f64>,
    limit: Option<f64>,
    message: Option<String>,
}

impl AlertJson {
    fn is(&self, kind: AlertKind) -> bool {
        self.kind.as_deref() == Some(kind.as_str())
    }
}

/// Why bytes given as a report are not one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportJsonError {
    /// Not JSON at all.
    #[error(transparent)]
    NotJson(serde_json::Error),
    /// JSON, but not a tracking report.
    #[error("not a nixperf report: {0}")]
    NotReport(serde_json::Error),
}

/// A row from a report read back from JSON.
pub(crate) fn row_from_json(json: &[u8], source: &Path) -> Result<FleetRow, ReportJsonError> {
    let r: ReportJson = serde_json::from_slice(json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ReportJsonError::NotReport(e),
        _ => ReportJsonError::NotJson(e),
    })?;
    Ok(row(r, source))
}

/// A row from a report built in memory (through its JSON, as a report read back is).
pub(crate) fn row_from_report(r: &Report, source: &Path) -> Option<FleetRow> {
    let r = ReportJson::deserialize(serde_json::to_value(r).ok()?).ok()?;
    Some(row(r, source))
}

fn row(r: ReportJson, source: &Path) -> FleetRow {
    let mut regressions: Vec<(String, f64)> = r
        .alerts
        .iter()
        .filter(|a| a.is(AlertKind::Regression))
        .map(|a| {
            let (val, lim) = (a.value.unwrap_or(0.0), a.limit.unwrap_or(0.0));
            let pct = if lim != 0.0 {
                (val - lim) / lim.abs() * 100.0
            } else {
                f64::INFINITY
            };
            (a.metric.clone().unwrap_or_else(|| "?".to_owned()), pct)
        })
        .collect();
    regressions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    FleetRow {
        host: r.host,
        target: r.run.target,
        kind: r.run.kind.unwrap_or_else(|| RunKind::from("")),
        run: r.run.id,
        date: super::trend::date(r.run.started_at.unwrap_or(0)),
        status: r.summary.status.unwrap_or_else(|| "unknown".to_owned()),
        regressions,
        alerts: r
            .alerts
            .into_iter()
            .filter(|a| a.is(AlertKind::Absolute))
            .filter_map(|a| a.message)
            .collect(),
        metrics: r
            .summary
            .metrics
            .into_iter()
            .filter_map(|m| Some((m.name?, m.value?, m.unit?)))
            .collect(),
        source: source.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_from_a_report_json() {
        let json = br#"{"host":"alpha","report_version":1,
            "run":{"id":7,"target":"t","kind":"eval","started_at":0,"host":"alpha"},
            "summary":{"status":"regressed","headline":"h","metrics":[
                {"name":"eval.wall_s","value":2.5,"unit":"s"},
                {"name":"eval.thunks","value":null,"unit":"count"}]},
            "alerts":[
                {"kind":"regression","metric":"eval.wall_s","value":3.0,"limit":2.0,"message":"m"},
                {"kind":"regression","metric":"module:a.nix","value":1.1,"limit":1.0,"message":"m"},
                {"kind":"absolute","metric":"eval.wall_s","value":3.0,"limit":1.0,"message":"too slow"},
                {"kind":"future","message":"ignored"}]}"#;
        let r = row_from_json(json, Path::new("r.json")).unwrap();
        assert_eq!(
            (r.host.as_str(), r.target.as_str(), r.run),
            ("alpha", "t", 7)
        );
        assert_eq!(r.kind, RunKind::Eval);
        assert_eq!(r.status, "regressed");
        assert_eq!(r.date, super::super::trend::date(0));
        assert_eq!(r.regressions.len(), 2);
        assert_eq!(r.regressions[0].0, "eval.wall_s");
        assert!((r.regressions[0].1 - 50.0).abs() < 1e-9);
        assert_eq!(r.alerts, ["too slow"]);
        assert_eq!(r.metrics, [("eval.wall_s".to_owned(), 2.5, Unit::Seconds)]);
        assert_eq!(r.source, "r.json");
    }

    #[test]
    fn defaults_and_what_is_not_a_report() {
        let min =
            br#"{"host":"h","run":{"id":1,"target":"t"},"summary":{"metrics":[]},"alerts":[]}"#;
        let r = row_from_json(min, Path::new("x")).unwrap();
        assert_eq!(r.status, "unknown");
        assert_eq!(r.kind.as_str(), "");
        assert!(matches!(
            row_from_json(b"[package]\nname = 1", Path::new("x")),
            Err(ReportJsonError::NotJson(_))
        ));
        assert!(matches!(
            row_from_json(br#"{"host":"h","run":{"id":1}}"#, Path::new("x")),
            Err(ReportJsonError::NotReport(_))
        ));
    }
}
