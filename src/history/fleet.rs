//! The fleet view: reports (build-metrics.json) and history databases of several hosts merged
//! into one table, one row per host and target, worst first, saying which regressed and how.

use super::report::Report;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FleetRow {
    pub host: String,
    pub target: String,
    pub kind: String,
    pub run: i64,
    pub date: String,
    pub status: String,
    /// Regressed metrics with their relative change (percent), largest first.
    pub regressions: Vec<(String, f64)>,
    pub alerts: Vec<String>,
    /// Headline metrics: name, value, unit.
    pub metrics: Vec<(String, f64, crate::units::Unit)>,
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
pub fn sort(rows: &mut [FleetRow]) {
    rows.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then(b.worst().total_cmp(&a.worst()))
            .then(a.host.cmp(&b.host))
            .then(a.target.cmp(&b.target))
    });
}

/// A row from a report (as built in memory or read back from JSON).
pub fn row_from_json(v: &serde_json::Value, source: &Path) -> Option<FleetRow> {
    let run = v.get("run")?;
    let mut regressions: Vec<(String, f64)> = v
        .get("alerts")?
        .as_array()?
        .iter()
        .filter(|a| a["kind"] == "regression")
        .map(|a| {
            let (val, lim) = (
                a["value"].as_f64().unwrap_or(0.0),
                a["limit"].as_f64().unwrap_or(0.0),
            );
            let pct = if lim != 0.0 {
                (val - lim) / lim.abs() * 100.0
            } else {
                f64::INFINITY
            };
            (a["metric"].as_str().unwrap_or("?").to_owned(), pct)
        })
        .collect();
    regressions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    Some(FleetRow {
        host: v["host"].as_str()?.to_owned(),
        target: run["target"].as_str()?.to_owned(),
        kind: run["kind"].as_str().unwrap_or("").to_owned(),
        run: run["id"].as_i64()?,
        date: super::trend::date(run["started_at"].as_i64().unwrap_or(0)),
        status: v["summary"]["status"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
        regressions,
        alerts: v["alerts"]
            .as_array()?
            .iter()
            .filter(|a| a["kind"] == "absolute")
            .filter_map(|a| a["message"].as_str().map(str::to_owned))
            .collect(),
        metrics: v["summary"]["metrics"]
            .as_array()?
            .iter()
            .filter_map(|m| {
                Some((
                    m["name"].as_str()?.to_owned(),
                    m["value"].as_f64()?,
                    m["unit"].as_str()?.into(),
                ))
            })
            .collect(),
        source: source.display().to_string(),
    })
}

pub fn row_from_report(r: &Report, source: &Path) -> Option<FleetRow> {
    row_from_json(&serde_json::to_value(r).ok()?, source)
}
