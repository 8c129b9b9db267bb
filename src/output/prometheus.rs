//! Prometheus text exposition (format 0.0.4) of the latest metrics, for node_exporter's
//! textfile collector. Metric `eval.wall_s` becomes `nixperf_eval_wall_seconds`; per-module
//! times become one family `nixperf_module_self_seconds{module="…"}`. Every sample carries
//! `host`, `target` and `kind` labels so one Prometheus can scrape a fleet.

use crate::history::metrics::MODULE_PREFIX;
use crate::history::{Metric, Run};
use crate::units::Unit;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `eval.wall_s` → `nixperf_eval_wall_seconds`, `cache.hit_rate` → `nixperf_cache_hit_ratio`.
pub(crate) fn family_name(name: &str, unit: &Unit) -> String {
    let base = name
        .strip_suffix("_s")
        .or_else(|| name.strip_suffix("_bytes"))
        .unwrap_or(name);
    let base = if *unit == Unit::Ratio {
        base.strip_suffix("_rate")
            .or_else(|| base.strip_suffix("_share"))
            .unwrap_or(base)
    } else {
        base
    };
    let mut out = String::from("nixperf_");
    for c in base.chars() {
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    match unit {
        Unit::Seconds => out.push_str("_seconds"),
        Unit::Bytes => out.push_str("_bytes"),
        Unit::Ratio => out.push_str("_ratio"),
        _ => {}
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn help(name: &str) -> &str {
    match name {
        "eval.wall_s" => "Wall time of the evaluation",
        "build.wall_s" => "Wall time of the build command",
        "cache.hit_rate" => "Share of queried store paths found in substituters",
        "store.size_bytes" => "Size of the Nix store",
        _ => "",
    }
}

/// Latest run per (kind, host, target) with its metrics → exposition text.
pub(crate) fn exposition(runs: &[(Run, Vec<Metric>)]) -> String {
    // family → (help, [(labels, value)])
    let mut fams: BTreeMap<String, (String, Vec<(String, f64)>)> = BTreeMap::new();
    for (run, metrics) in runs {
        let labels = format!(
            "host=\"{}\",target=\"{}\",kind=\"{}\"",
            escape(&run.info.host),
            escape(&run.info.target),
            escape(run.info.kind.as_str())
        );
        for m in metrics.iter().filter(|m| m.value.is_finite()) {
            let (fam, labels, h) = match m.name.strip_prefix(MODULE_PREFIX) {
                Some(module) => (
                    "nixperf_module_self_seconds".to_owned(),
                    format!("{labels},module=\"{}\"", escape(module)),
                    "Self time of an evaluated module (attributed, see README)".to_owned(),
                ),
                None => (
                    family_name(&m.name, &m.unit),
                    labels.clone(),
                    match help(&m.name) {
                        "" => format!("nixperf metric {} ({})", m.name, m.unit),
                        h => h.to_owned(),
                    },
                ),
            };
            fams.entry(fam)
                .or_insert_with(|| (h, vec![]))
                .1
                .push((labels, m.value));
        }
        fams.entry("nixperf_run_timestamp_seconds".into())
            .or_insert_with(|| ("Start time of the latest recorded run".into(), vec![]))
            .1
            .push((labels.clone(), run.info.started_at as f64));
        fams.entry("nixperf_run_id".into())
            .or_insert_with(|| ("History id of the latest recorded run".into(), vec![]))
            .1
            .push((labels, run.id as f64));
    }
    let mut s = String::new();
    for (fam, (h, samples)) in fams {
        let _ = writeln!(
            s,
            "# HELP {fam} {}",
            h.replace('\\', "\\\\").replace('\n', " ")
        );
        let _ = writeln!(s, "# TYPE {fam} gauge");
        for (labels, v) in samples {
            let _ = writeln!(s, "{fam}{{{labels}}} {v}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        assert_eq!(
            family_name("eval.wall_s", &Unit::Seconds),
            "nixperf_eval_wall_seconds"
        );
        assert_eq!(
            family_name("cache.hit_rate", &Unit::Ratio),
            "nixperf_cache_hit_ratio"
        );
        assert_eq!(
            family_name("store.size_bytes", &Unit::Bytes),
            "nixperf_store_size_bytes"
        );
        assert_eq!(
            family_name("eval.function_calls", &Unit::Count),
            "nixperf_eval_function_calls"
        );
        assert_eq!(
            family_name("build.phase.building_s", &Unit::Seconds),
            "nixperf_build_phase_building_seconds"
        );
    }
}
