//! Fills a history database with N eval-shaped runs for scripts/bench-history.sh: the same
//! recording path `nixperf eval` uses (one transaction per run), 25 headline metrics, 40
//! per-module self times and a stack tree per run, over a year of timestamps.

use nixperf::analysis::stacks::{StackNode, StackTree};
use nixperf::history::{History, Metric, RunInfo, RunKind};
use nixperf::units::Unit;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, n): (&str, usize) = (&args[1], args[2].parse().expect("run count"));
    let mut h = History::open(std::path::Path::new(path)).expect("open history");
    let t0 = 1_735_689_600i64; // 2025-01-01
    // main → modules/mM.nix → fM, 40 modules.
    let mut labels = vec!["main".to_owned()];
    let mut nodes = vec![
        StackNode {
            parent: 0,
            label: 0,
            weight: 0,
        },
        StackNode {
            parent: 0,
            label: 0,
            weight: 0,
        },
    ];
    for m in 0..40u32 {
        labels.push(format!("modules/m{m}.nix"));
        labels.push(format!("f{m} modules/m{m}.nix:3:5"));
        nodes.push(StackNode {
            parent: 1,
            label: 2 * m + 1,
            weight: 0,
        });
        nodes.push(StackNode {
            parent: nodes.len() as u32 - 1,
            label: 2 * m + 2,
            weight: 1000 + u64::from(m),
        });
    }
    let stacks = StackTree::from_parts(labels, nodes).expect("a valid tree");
    for i in 0..n {
        // A deterministic wobble, and a step at 80 % of the history.
        let noise = ((i * 7919) % 97) as f64 / 97.0 - 0.5;
        let step = if i > n * 8 / 10 { 1.3 } else { 1.0 };
        let mut metrics: Vec<Metric> = (0..25)
            .map(|k| {
                Metric::new(
                    format!("eval.metric{k}_s"),
                    (1.0 + 0.05 * noise) * step * (k + 1) as f64,
                    Unit::Seconds,
                )
            })
            .collect();
        metrics.push(Metric::new(
            "eval.wall_s",
            12.0 * step + noise,
            Unit::Seconds,
        ));
        for m in 0..40 {
            metrics.push(Metric::new(
                format!("module:modules/m{m}.nix"),
                0.1 * (m + 1) as f64 * step + 0.01 * noise,
                Unit::Seconds,
            ));
        }
        let info = RunInfo {
            started_at: t0 + (i as i64) * (365 * 86_400 / n as i64),
            kind: RunKind::Eval,
            host: format!("host{}", i % 4),
            target: "/etc/nixos -A system".into(),
            status: "complete".into(),
            nix_version: "2.8.0".into(),
            nixperf_version: env!("CARGO_PKG_VERSION").into(),
            git_rev: Some(format!("{:040x}", i)),
            command: vec!["nixperf".into(), "eval".into()],
            profile_path: None,
            flake_lock: None,
        };
        h.record(&info, &metrics, Some(&stacks)).expect("record");
    }
}
