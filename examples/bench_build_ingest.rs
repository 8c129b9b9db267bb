//! Ingest throughput of the build profiler: generates a large stamped `--log-format
//! internal-json` log shaped like a real Nix 2.8 build (per derivation: start, setPhase results,
//! build log lines, stop; per substitution: narinfo query, NAR transfer with progress results),
//! then times `Ingest` on it — the whole-file path of `--replay` and the line path of a live
//! run. Prints MB/s; the target is ≥ 200 MB/s.
//!
//! `cargo run --release --example bench_build_ingest -- [MB] [runs]` (default 256 MB, 3 runs).

use nixperf::build::ingest::Ingest;
use std::fmt::Write;
use std::time::Instant;

fn generate(target: usize) -> String {
    let mut s = String::with_capacity(target + 4096);
    let mut t: u64 = 0;
    let mut id: u64 = 43_473_658_970_112;
    s.push_str("0 @nixperf {\"command\":[\"nix-build\",\"big.nix\"],\"started_at\":1795718428}\n");
    let _ = writeln!(
        s,
        "{t} @nix {{\"action\":\"start\",\"id\":{id},\"level\":6,\"text\":\"querying info about missing paths\",\"type\":0}}"
    );
    let mut k = 0u64;
    while s.len() < target {
        k += 1;
        id += 1;
        let hash = format!(
            "{:032x}",
            k.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 7919
        );
        let hash = &hash[hash.len() - 32..];
        if k.is_multiple_of(4) {
            // A substitution: narinfo query + NAR download with progress, then the copy.
            let (q, tr, sub) = (id, id + 1, id + 2);
            id += 2;
            let _ = writeln!(
                s,
                "{t} @nix {{\"action\":\"start\",\"fields\":[\"/nix/store/{hash}-pkg-{k}\",\"http://127.0.0.1:8741\"],\"id\":{q},\"level\":4,\"text\":\"querying info about '/nix/store/{hash}-pkg-{k}' on 'http://127.0.0.1:8741'\",\"type\":109}}"
            );
            t += 1_000;
            let _ = writeln!(s, "{t} @nix {{\"action\":\"stop\",\"id\":{q}}}");
            let _ = writeln!(
                s,
                "{t} @nix {{\"action\":\"start\",\"fields\":[\"/nix/store/{hash}-pkg-{k}\",\"http://127.0.0.1:8741\"],\"id\":{sub},\"level\":4,\"text\":\"copying path '/nix/store/{hash}-pkg-{k}' from 'http://127.0.0.1:8741'\",\"type\":108}}"
            );
            let _ = writeln!(
                s,
                "{t} @nix {{\"action\":\"start\",\"fields\":[\"http://127.0.0.1:8741/nar/{hash}.nar.xz\"],\"id\":{tr},\"level\":4,\"text\":\"downloading 'http://127.0.0.1:8741/nar/{hash}.nar.xz'\",\"type\":101}}"
            );
            for b in 0..40u64 {
                t += 500;
                let _ = writeln!(
                    s,
                    "{t} @nix {{\"action\":\"result\",\"fields\":[{},{},0,0],\"id\":{tr},\"type\":105}}",
                    b * 16384,
                    40 * 16384
                );
            }
            let _ = writeln!(s, "{t} @nix {{\"action\":\"stop\",\"id\":{tr}}}");
            let _ = writeln!(s, "{t} @nix {{\"action\":\"stop\",\"id\":{sub}}}");
        } else {
            let drv = format!("/nix/store/{hash}-pkg-{k}.drv");
            let _ = writeln!(
                s,
                "{t} @nix {{\"action\":\"start\",\"fields\":[\"{drv}\",\"\",1,1],\"id\":{id},\"level\":3,\"text\":\"building '{drv}'\",\"type\":105}}"
            );
            for phase in [
                "unpackPhase",
                "configurePhase",
                "buildPhase",
                "installPhase",
            ] {
                t += 10_000;
                let _ = writeln!(
                    s,
                    "{t} @nix {{\"action\":\"result\",\"fields\":[\"{phase}\"],\"id\":{id},\"type\":104}}"
                );
                for l in 0..30u64 {
                    t += 2_000;
                    // Every fourth line has JSON escapes (quotes), as compiler lines often do.
                    let _ = if l % 4 == 0 {
                        writeln!(
                            s,
                            "{t} @nix {{\"action\":\"result\",\"fields\":[\"gcc -O2 -c src/module_{l}.c -o build/module_{l}.o -Iinclude -DVERSION=\\\"1.{k}\\\"\"],\"id\":{id},\"type\":101}}"
                        )
                    } else {
                        writeln!(
                            s,
                            "{t} @nix {{\"action\":\"result\",\"fields\":[\"gcc -O2 -c src/module_{l}.c -o build/module_{l}.o -Iinclude -Wall -fPIC\"],\"id\":{id},\"type\":101}}"
                        )
                    };
                }
            }
            let _ = writeln!(s, "{t} @nix {{\"action\":\"stop\",\"id\":{id}}}");
        }
    }
    let _ = writeln!(s, "{t} @nix {{\"action\":\"stop\",\"id\":43473658970112}}");
    let _ = writeln!(s, "{t} @nixperf {{\"exit_code\":0,\"signal\":null}}");
    s
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mb: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let t = Instant::now();
    let log = generate(mb << 20);
    let lines = log.lines().count();
    println!(
        "generated {:.1} MB, {lines} lines in {:.2} s",
        log.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mbs = |secs: f64| log.len() as f64 / 1e6 / secs;
    let (mut best_text, mut best_lines) = (f64::MAX, f64::MAX);
    for _ in 0..runs {
        let t = Instant::now();
        let mut i = Ingest::new();
        i.text(&log);
        let p = std::hint::black_box(i.finish(None, None));
        best_text = best_text.min(t.elapsed().as_secs_f64());
        assert_eq!(p.warnings.total(), 0, "{:?}", p.warnings);
        assert!(!p.derivations.is_empty() && !p.substitutions.is_empty());

        // The live path: one `line` call per received line, as `run` does.
        let t = Instant::now();
        let mut i = Ingest::new();
        for l in log.lines() {
            i.line(l);
        }
        std::hint::black_box(i.finish(None, None));
        best_lines = best_lines.min(t.elapsed().as_secs_f64());
    }
    println!(
        "ingest (replay, whole file): {:.0} MB/s ({:.3} s best of {runs})",
        mbs(best_text),
        best_text
    );
    println!(
        "ingest (live, line by line): {:.0} MB/s ({:.3} s best of {runs})",
        mbs(best_lines),
        best_lines
    );
    let ok = mbs(best_text) >= 200.0;
    println!("target >= 200 MB/s: {}", if ok { "met" } else { "NOT met" });
}
