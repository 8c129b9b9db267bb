//! `performance-baseline.json`: a baseline's runs and their metrics, exported by
//! `nixperf baseline` and `nixperf analyze --baseline` (what the NixOS module's
//! `baseline-file` names), read back by `nixperf analyze --baseline-file`. One type for the
//! writer and the reader; the reader judges regressions with [`compare::change`], the rule
//! `nixperf compare` uses.

use super::compare::{self, MetricChange};
use super::{History, HistoryError, Metric, Run, Unit, alerts::Thresholds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `format` field: what tells a baseline file from any other JSON.
pub(crate) const FORMAT: &str = "nixperf-baseline";
pub(crate) const VERSION: u32 = 1;

/// The file. Fields are in alphabetical order, as the file has always been written (from a
/// `serde_json::Value`, whose objects sort their keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BaselineFile {
    pub format: String,
    /// Every metric of the baseline's runs, by name (a later run's value wins).
    pub metrics: BTreeMap<String, BaselineMetric>,
    /// The first of `runs`.
    #[serde(default)]
    pub run: Option<Run>,
    #[serde(default)]
    pub runs: Vec<Run>,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BaselineMetric {
    pub unit: Unit,
    pub value: f64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BaselineFileError {
    #[error("reading {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("{path}: not a valid performance-baseline.json: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("writing {path}: {detail}")]
    Write { path: PathBuf, detail: String },
    #[error(transparent)]
    History(#[from] HistoryError),
}

impl BaselineFile {
    /// The baseline of `runs` (their metrics from the history).
    pub(crate) fn of_runs(h: &History, runs: &[Run]) -> Result<BaselineFile, HistoryError> {
        let mut metrics = BTreeMap::new();
        for r in runs {
            for m in h.metrics(r.id)? {
                metrics.insert(
                    m.name,
                    BaselineMetric {
                        unit: m.unit,
                        value: m.value,
                    },
                );
            }
        }
        Ok(BaselineFile {
            format: FORMAT.into(),
            metrics,
            run: runs.first().cloned(),
            runs: runs.to_vec(),
            version: VERSION,
        })
    }

    /// The file's text: pretty JSON with every object's keys sorted, and a final newline.
    pub(crate) fn to_json(&self) -> String {
        // Through a Value so that nested objects (the runs) keep the sorted key order the
        // file has always had.
        let v = serde_json::to_value(self).expect("a baseline serialises");
        serde_json::to_string_pretty(&v).expect("a Value serialises") + "\n"
    }

    pub(crate) fn write(&self, path: &Path) -> Result<(), BaselineFileError> {
        std::fs::write(path, self.to_json()).map_err(|e| BaselineFileError::Write {
            path: path.to_owned(),
            detail: e.to_string(),
        })
    }

    pub(crate) fn parse(text: &str, path: &Path) -> Result<BaselineFile, BaselineFileError> {
        let invalid = |detail: String| BaselineFileError::Invalid {
            path: path.to_owned(),
            detail,
        };
        let f: BaselineFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if f.format != FORMAT {
            return Err(invalid(format!(
                "format is {:?}, expected {FORMAT:?}",
                f.format
            )));
        }
        // A newer nixperf may change what a metric means or how it is stored: refuse rather
        // than judge regressions against numbers this version would misread.
        if f.version > VERSION {
            return Err(invalid(format!(
                "version {} is newer than this nixperf reads ({VERSION}); upgrade nixperf",
                f.version
            )));
        }
        Ok(f)
    }

    pub(crate) fn read(path: &Path) -> Result<BaselineFile, BaselineFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineFileError::Read {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        BaselineFile::parse(&text, path)
    }

    /// The metrics of `now` that regressed against this baseline, by `nixperf compare`'s rule
    /// (one run on each side), in the order of `now`.
    pub(crate) fn regressions(&self, now: &[Metric], t: &Thresholds) -> Vec<MetricChange> {
        now.iter()
            .filter_map(|m| {
                let base = self.metrics.get(&m.name)?;
                compare::change(&m.name, &m.unit, &[base.value], &[m.value], t)
            })
            .filter(|c| c.regression)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(metrics: &[(&str, f64, &str)]) -> BaselineFile {
        BaselineFile {
            format: FORMAT.into(),
            metrics: metrics
                .iter()
                .map(|(n, v, u)| {
                    (
                        n.to_string(),
                        BaselineMetric {
                            unit: Unit::from(*u),
                            value: *v,
                        },
                    )
                })
                .collect(),
            run: None,
            runs: vec![],
            version: VERSION,
        }
    }

    /// Cases where `analyze --baseline-file` (strict `>` on the percentage, a floor for
    /// seconds only, a zero baseline skipped) and `compare` (`>=`, a floor per unit) used to
    /// judge the same numbers differently: now they are one rule.
    #[test]
    fn baseline_regression_is_compares_rule() {
        let t = Thresholds::default();
        let cases: &[(&str, &str, f64, f64)] = &[
            // Exactly the threshold: compare flags it, analyze did not (strict >).
            ("eval.wall_s", "s", 1.0, 1.1),
            ("eval.calls", "count", 1000.0, 1100.0),
            // +50 % but 0.5 MB: under compare's 1 MiB floor for bytes; analyze flagged it.
            ("eval.gc_heap_bytes", "bytes", 1e6, 1.5e6),
            // From 0 to 1: compare flags it ("new"), analyze skipped a zero baseline.
            ("build.failed", "count", 0.0, 1.0),
            // Clear regressions and non-regressions both agree.
            ("eval.wall_s", "s", 1.0, 2.0),
            ("cache.hit_rate", "ratio", 0.9, 0.5),
            ("eval.wall_s", "s", 1.0, 0.5),
            ("eval.modules", "count", 10.0, 20.0),
        ];
        for &(name, unit, a, b) in cases {
            let base = file(&[(name, a, unit)]);
            let now = [Metric::new(name, b, Unit::from(unit))];
            let by_analyze = !base.regressions(&now, &t).is_empty();
            let by_compare = compare::change(name, &Unit::from(unit), &[a], &[b], &t)
                .unwrap()
                .regression;
            assert_eq!(by_analyze, by_compare, "{name} {a} -> {b}");
        }
        // And the verdicts themselves, for the cases that used to differ.
        let judged = |name: &str, unit: &str, a: f64, b: f64| {
            !file(&[(name, a, unit)])
                .regressions(&[Metric::new(name, b, Unit::from(unit))], &t)
                .is_empty()
        };
        assert!(judged("eval.wall_s", "s", 1.0, 1.1));
        assert!(!judged("eval.gc_heap_bytes", "bytes", 1e6, 1.5e6));
        assert!(judged("build.failed", "count", 0.0, 1.0));
        assert!(
            !judged("eval.wall_s", "s", 0.01, 0.04),
            "under the time floor"
        );
    }

    #[test]
    fn round_trip_and_sorted_keys() {
        let f = file(&[("eval.wall_s", 1.5, "s"), ("eval.calls", 3.0, "count")]);
        let text = f.to_json();
        assert!(text.ends_with("}\n"));
        let keys: Vec<usize> = [
            "\"format\"",
            "\"metrics\"",
            "\"run\"",
            "\"runs\"",
            "\"version\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(
            text.contains("\"unit\": \"count\",\n      \"value\": 3.0"),
            "{text}"
        );
        assert_eq!(BaselineFile::parse(&text, Path::new("b.json")).unwrap(), f);
    }

    #[test]
    fn hand_edited_file_with_missing_values_is_one_clear_line() {
        let p = Path::new("performance-baseline.json");
        let text = r#"{"format": "nixperf-baseline", "version": 1,
            "metrics": {"eval.wall_s": {"unit": "s"}}}"#;
        let e = BaselineFile::parse(text, p).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.starts_with("performance-baseline.json: not a valid performance-baseline.json"),
            "{e}"
        );
        assert!(e.contains("missing field `value`"), "{e}");
        assert!(e.contains("line 2"), "{e}");

        let e = BaselineFile::parse(r#"{"format": "x", "version": 1, "metrics": {}}"#, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected \"nixperf-baseline\""), "{e}");
        let e = BaselineFile::parse(r#"{"metrics": {"a": {"unit": "s", "value": "1"}}}"#, p)
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n') && e.contains("invalid type"), "{e}");
        // A file without its runs (hand-written) is still a baseline.
        let f = BaselineFile::parse(
            r#"{"format": "nixperf-baseline", "version": 1, "metrics": {"eval.wall_s": {"unit": "s", "value": 1}}}"#,
            p,
        )
        .unwrap();
        assert_eq!(f.metrics["eval.wall_s"].value, 1.0);
    }

    #[test]
    fn a_newer_version_is_refused_in_one_line() {
        let mut f = file(&[("eval.wall_s", 1.0, "s")]);
        let p = Path::new("performance-baseline.json");
        assert!(BaselineFile::parse(&f.to_json(), p).is_ok());
        f.version = VERSION + 1;
        let e = BaselineFile::parse(&f.to_json(), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("version 2 is newer"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
