//! Alert thresholds: the default absolute limits (build time > 180 s, store > 100 GB, cache hit
//! rate < 70 %, evaluation time) and the relative regression threshold against the baseline.
//! Defaults here; a config file (`[alerts]` in TOML) and flags override them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Thresholds {
    /// `build.wall_s` above this alerts (default: 180 s).
    pub max_build_time_s: f64,
    /// `store.size_bytes` above this alerts (default: 100 GB).
    pub max_store_bytes: f64,
    /// `cache.hit_rate` below this alerts (default: 70 %).
    pub min_cache_hit_rate: f64,
    /// `eval.wall_s` above this alerts.
    pub max_eval_time_s: f64,
    /// A metric that got worse by more than this many percent vs the baseline is a regression
    /// (when the change is also beyond the noise).
    pub regression_pct: f64,
    /// p-value below which a change across repeated runs counts as real.
    pub significance: f64,
    /// Changes of time metrics smaller than this are noise whatever their relative size
    /// (timer and scheduler jitter on short evaluations).
    pub min_time_change_s: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_build_time_s: 180.0,
            max_store_bytes: 100e9,
            min_cache_hit_rate: 0.70,
            max_eval_time_s: 60.0,
            regression_pct: 10.0,
            significance: 0.05,
            min_time_change_s: 0.05,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{path}: {detail}")]
    Read { path: PathBuf, detail: String },
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigFile {
    alerts: Thresholds,
}

impl Thresholds {
    /// `path` if given (must exist), else `$XDG_CONFIG_HOME/nixperf/config.toml` if it exists,
    /// else the defaults.
    pub(crate) fn load(path: Option<&Path>) -> Result<Thresholds, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => (default_config_path(), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Thresholds::default());
            }
            Err(e) => {
                return Err(ConfigError::Read {
                    path,
                    detail: e.to_string(),
                });
            }
        };
        let c: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Read {
            path: path.clone(),
            detail: e.message().to_owned(),
        })?;
        Ok(c.alerts)
    }
}

pub(crate) fn default_config_path() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("nixperf")
        .join("config.toml")
}

/// What an alert is about; written (JSON, Markdown) as `absolute` / `regression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AlertKind {
    /// A fixed limit breached.
    Absolute,
    /// Worse than the baseline beyond the threshold and the noise.
    Regression,
}

impl AlertKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlertKind::Absolute => "absolute",
            AlertKind::Regression => "regression",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AlertKind {
    type Err = String;
    fn from_str(s: &str) -> Result<AlertKind, String> {
        match s {
            "absolute" => Ok(AlertKind::Absolute),
            "regression" => Ok(AlertKind::Regression),
            _ => Err(format!("unknown alert kind {s:?} (absolute, regression)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Alert {
    pub kind: AlertKind,
    pub metric: String,
    pub value: f64,
    pub limit: f64,
    pub message: String,
}

/// Absolute-limit alerts for one run's (or one side's mean) metrics.
pub(crate) fn absolute(metrics: &[(String, f64)], t: &Thresholds) -> Vec<Alert> {
    let get = |n: &str| metrics.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
    let mut out = Vec::new();
    let mut above = |name: &str, limit: f64, what: &str, fmt: &dyn Fn(f64) -> String| {
        if let Some(v) = get(name).filter(|v| *v > limit) {
            out.push(Alert {
                kind: AlertKind::Absolute,
                metric: name.into(),
                value: v,
                limit,
                message: format!("{what} {} exceeds {}", fmt(v), fmt(limit)),
            });
        }
    };
    let secs = |v: f64| format!("{v:.1} s");
    let gb = |v: f64| format!("{:.1} GB", v / 1e9);
    above("build.wall_s", t.max_build_time_s, "build time", &secs);
    above("eval.wall_s", t.max_eval_time_s, "evaluation time", &secs);
    above("store.size_bytes", t.max_store_bytes, "store size", &gb);
    if let Some(v) = get("cache.hit_rate").filter(|v| *v < t.min_cache_hit_rate) {
        out.push(Alert {
            kind: AlertKind::Absolute,
            metric: "cache.hit_rate".into(),
            value: v,
            limit: t.min_cache_hit_rate,
            message: format!(
                "cache hit rate {:.0} % is below {:.0} %",
                v * 100.0,
                t.min_cache_hit_rate * 100.0
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_config_override() {
        let m = |v: &[(&str, f64)]| -> Vec<(String, f64)> {
            v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
        };
        let t = Thresholds::default();
        let a = absolute(
            &m(&[
                ("build.wall_s", 200.0),
                ("cache.hit_rate", 0.5),
                ("store.size_bytes", 1e9),
            ]),
            &t,
        );
        assert_eq!(
            a.iter().map(|a| a.metric.as_str()).collect::<Vec<_>>(),
            ["build.wall_s", "cache.hit_rate"]
        );
        assert!(absolute(&m(&[("build.wall_s", 179.0)]), &t).is_empty());

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[alerts]\nmax_build_time_s = 100\nregression_pct = 5\n").unwrap();
        let t = Thresholds::load(Some(&p)).unwrap();
        assert_eq!(t.max_build_time_s, 100.0);
        assert_eq!(t.regression_pct, 5.0);
        assert_eq!(t.min_cache_hit_rate, 0.70);
        std::fs::write(&p, "[alerts]\nmax_build_tme_s = 1\n").unwrap();
        let e = Thresholds::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("max_build_tme_s"), "{e}");
    }
}
