//! Trends, alerts, reports, Prometheus export and fleet view on runs recorded by real
//! `nixperf eval` / `nixperf build` runs (and `nixperf history record`, the hook other
//! commands use), checked with the real tools: jsonschema, insta, headless Chromium, promtool,
//! prometheus-node-exporter.

mod common;

use common::{nixperf, np, ok, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn eval_regress(db: &Path, work: u32, dir: &Path) {
    ok(np(db)
        .current_dir(repo())
        .args(["eval", "-o"])
        .arg(dir.join("p.db"))
        .args(["-f", "nix-tests/fixtures/regress", "--arg", "work"])
        .arg(work.to_string())
        .output()
        .unwrap());
}

fn record(db: &Path, args: &[&str]) -> String {
    ok(np(db)
        .args(["history", "record"])
        .args(args)
        .output()
        .unwrap())
}

/// A `store` run of /nix/store through the generic hook: its size in bytes and the cache hit
/// rate.
fn record_store(db: &Path, size_bytes: &str, hit_rate: &str) -> String {
    record(
        db,
        &[
            "--kind",
            "store",
            "--target",
            "/nix/store",
            "--metric",
            &format!("store.size_bytes={size_bytes}:bytes"),
            "--metric",
            &format!("cache.hit_rate={hit_rate}:ratio"),
        ],
    )
}

/// `nixperf report --format FORMAT -o OUT`, asserting success.
fn write_report(db: &Path, format: &str, out: &Path) {
    ok(np(db)
        .args(["report", "--format", format, "-o"])
        .arg(out)
        .output()
        .unwrap());
}

/// A baseline run and a run with slow.nix made slower (fib 18 → fib 27), real evaluations.
fn regressed_history(dir: &Path) -> PathBuf {
    let db = dir.join("history.db");
    eval_regress(&db, 18, dir);
    ok(np(&db)
        .args(["baseline", "-o"])
        .arg(dir.join("b.json"))
        .output()
        .unwrap());
    eval_regress(&db, 27, dir);
    db
}

#[test]
fn track_trends_per_run_and_month_with_svg_charts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    for w in [16, 20, 24] {
        eval_regress(&db, w, dir.path());
    }
    let charts = dir.path().join("charts");
    let out = ok(np(&db)
        .args([
            "track",
            "--metric",
            "eval.function_calls",
            "--metric",
            "eval.wall_s",
            "-o",
        ])
        .arg(&charts)
        .output()
        .unwrap());
    let calls_row = out
        .lines()
        .find(|l| l.contains("eval.function_calls"))
        .unwrap();
    // Work grows each run: the trend rises, first to last.
    let j: serde_json::Value = serde_json::from_str(&ok(np(&db)
        .args([
            "track",
            "--json",
            "--no-charts",
            "--metric",
            "eval.function_calls",
        ])
        .output()
        .unwrap()))
    .unwrap();
    let pts: Vec<f64> = j[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(pts.len(), 3, "{calls_row}");
    assert!(pts[0] < pts[1] && pts[1] < pts[2], "{pts:?}");
    assert!(calls_row.contains('+'), "{calls_row}");
    for name in ["eval.function_calls.svg", "eval.wall_s.svg"] {
        let svg = std::fs::read_to_string(charts.join(name)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline") && svg.contains("eval."),
            "{name}"
        );
    }

    // Monthly: runs recorded at known times (the hook other recorders use) aggregate per month.
    let m = dir.path().join("monthly.db");
    for (at, v) in [
        ("1704067200", 10),
        ("1705000000", 20),
        ("1706745600", 40),
        ("1709251200", 5),
    ] {
        record(
            &m,
            &[
                "--kind",
                "build",
                "--target",
                "t",
                "--at",
                at,
                "--metric",
                &format!("build.wall_s={v}:s"),
            ],
        );
    }
    let j: serde_json::Value = serde_json::from_str(&ok(np(&m)
        .args(["track", "--monthly", "--json", "--no-charts"])
        .output()
        .unwrap()))
    .unwrap();
    let months: Vec<(String, f64, u64)> = j[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["label"].as_str().unwrap().to_owned(),
                p["value"].as_f64().unwrap(),
                p["runs"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months,
        [
            ("2024-01".into(), 15.0, 2),
            ("2024-02".into(), 40.0, 1),
            ("2024-03".into(), 5.0, 1)
        ]
    );
    let since = ok(np(&m)
        .args(["track", "--since", "2024-02-01", "--json", "--no-charts"])
        .output()
        .unwrap());
    let since: serde_json::Value = serde_json::from_str(&since).unwrap();
    assert_eq!(since[0]["points"].as_array().unwrap().len(), 2);
    // A chart per month too.
    let out = ok(np(&m)
        .args(["track", "--monthly", "-o"])
        .arg(dir.path().join("mc"))
        .output()
        .unwrap());
    assert!(out.contains("1 charts"), "{out}");
    assert!(
        std::fs::read_to_string(dir.path().join("mc/build.wall_s.svg"))
            .unwrap()
            .contains("2024-02")
    );
}

#[test]
fn alerts_use_seed_thresholds_config_and_flags_on_a_real_build() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let nonce = common::nonce("tracking");
    // Two real builds of the diamond (4 s critical path) under one target.
    for i in 0..2 {
        // Built into a store of the test's own, never the machine's /nix.
        let o = common::private_store(&mut np(&db))
            .current_dir(dir.path())
            .env("NIXPERF_TARGET", "diamond")
            .args([
                "build",
                "-q",
                "--",
                "nix-build",
                "--no-out-link",
                "--option",
                "substituters",
                "",
            ])
            .arg(repo().join("nix-tests/build/diamond.nix"))
            .args(["--argstr", "nonce", &format!("{nonce}-{i}")])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("recorded run #"));
    }
    let show = ok(np(&db)
        .args(["history", "show", "--json"])
        .output()
        .unwrap());
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    let get = |n: &str| {
        show["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .map(|m| m["value"].as_f64().unwrap())
    };
    let wall = get("build.wall_s").unwrap();
    assert!(wall > 3.9 && wall < 30.0, "{wall}");
    assert!(get("build.critical_path_s").unwrap() > 3.9);
    assert!(get("build.phase.building_s").is_some());
    assert_eq!(get("build.derivations"), Some(4.0));

    // Seed defaults: a 4 s build is fine.
    let out = ok(np(&db)
        .args(["compare", "--no-flamegraph"])
        .output()
        .unwrap());
    assert!(!out.contains("ALERT"), "{out}");
    // Flag: build time limit 3 s → alert, exit 2 with --fail-on-regression.
    let o = np(&db)
        .args([
            "compare",
            "--no-flamegraph",
            "--max-build-time",
            "3",
            "--fail-on-regression",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("ALERT: build time") && text.contains("exceeds 3.0 s"),
        "{text}"
    );
    // Config file.
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[alerts]\nmax_build_time_s = 2.5\n").unwrap();
    let o = np(&db)
        .args([
            "compare",
            "--no-flamegraph",
            "--fail-on-regression",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("exceeds 2.5 s"));
    std::fs::write(&cfg, "[alerts]\nmax_build_time = 2.5\n").unwrap();
    let o = np(&db)
        .args(["compare", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("max_build_time"));

    // Store size and cache hit rate, recorded through the generic hook.
    for _ in 0..2 {
        record_store(&db, "1.5e11", "0.5");
    }
    let o = np(&db)
        .args(["compare", "--fail-on-regression"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("ALERT: store size 150.0 GB exceeds 100.0 GB"),
        "{text}"
    );
    assert!(
        text.contains("ALERT: cache hit rate 50 % is below 70 %"),
        "{text}"
    );
    let o = np(&db)
        .args([
            "compare",
            "--fail-on-regression",
            "--min-hit-rate",
            "0.4",
            "--max-store-size",
            "2e11",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

fn normalize(md: &str, dir: &Path) -> String {
    // Times, sizes, counts and percentages are numbers: replace each with N. Rows of a table
    // and items of a list are ordered by time or relative change, so sort them too. Host, dates, paths and revisions vary.
    let md = md
        .replace(&dir.display().to_string(), "<tmp>")
        .replace(&repo().display().to_string(), "<repo>")
        .replace(&nixperf::history::env::hostname(), "<host>");
    let mut out = String::new();
    let mut table: Vec<String> = Vec::new();
    let flush = |table: &mut Vec<String>, out: &mut String| {
        if table.first().is_some_and(|l| l.starts_with("- ")) {
            table.sort();
            for l in table.iter() {
                out.push_str(l);
                out.push('\n');
            }
        } else if table.len() > 2 {
            let (head, body) = table.split_at_mut(2);
            body.sort();
            for l in head.iter().chain(body.iter()) {
                out.push_str(l);
                out.push('\n');
            }
        } else {
            for l in table.iter() {
                out.push_str(l);
                out.push('\n');
            }
        }
        table.clear();
    };
    for line in md.lines() {
        // The revision is clean or `-dirty` depending on the checkout: keep neither.
        let line = match line.find(", revision ") {
            Some(i) => format!("{}, revision <rev>", &line[..i]),
            None => line.to_owned(),
        };
        let mut l = String::new();
        let mut chars = line.chars().peekable();
        let mut hex = String::new();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.' || *d == ',')
                {
                    chars.next();
                }
                l.push('N');
            } else {
                l.push(c);
            }
        }
        // A time's unit follows its size (a sub-millisecond phase reads in µs): one unit.
        let mut l = l.replace("N µs", "N ms");
        // 40-hex git revisions become N-sprinkled strings; fold any word mixing N and a-f.
        for w in l.split(' ') {
            let word: String = w
                .chars()
                .filter(|c| *c != '.' && *c != ')' && *c != ',')
                .collect();
            if word.len() >= 12
                && word
                    .chars()
                    .all(|c| c == 'N' || c.is_ascii_hexdigit() || c == '-')
            {
                hex = word;
                break;
            }
        }
        if !hex.is_empty() {
            l = l.replace(&hex, "<rev>");
            hex.clear();
        }
        if l.starts_with('|') || l.starts_with("- ") {
            table.push(l);
        } else {
            flush(&mut table, &mut out);
            out.push_str(&l);
            out.push('\n');
        }
    }
    flush(&mut table, &mut out);
    out
}

#[test]
fn reports_md_snapshot_json_schema_and_self_contained_html() {
    let dir = tempfile::tempdir().unwrap();
    let db = regressed_history(dir.path());
    let out = dir.path().join("out");

    // JSON validates against the schema in the repository.
    write_report(&db, "json", &out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("build-metrics.json")).unwrap()).unwrap();
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("docs/schema/nixperf-report.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema is not vacuous: a report missing its summary, or with a bad impact, fails.
    let mut bad = report.clone();
    bad.as_object_mut().unwrap().remove("summary");
    assert!(!v.is_valid(&bad));
    let mut bad = report.clone();
    bad["slowest"][0]["impact"] = "CRITICAL".into();
    assert!(!v.is_valid(&bad));
    assert_eq!(report["summary"]["status"], "regressed");
    assert_eq!(
        report["slowest"][0]["name"],
        "nix-tests/fixtures/regress/slow.nix"
    );
    assert_eq!(report["baseline"]["id"], 1);

    // Markdown in the seed's structure, snapshot modulo times.
    write_report(&db, "md", &out);
    let md = std::fs::read_to_string(out.join("performance-report.md")).unwrap();
    for section in [
        "## Executive summary",
        "## Phase breakdown",
        "## Slowest components",
        "## Recommendations",
        "## Implementation plan",
        "## Metrics to track",
        "Next analysis:",
    ] {
        assert!(md.contains(section), "{section} missing");
    }
    assert!(out.join("optimization-recommendations.md").exists());
    // A component's impact follows from its share of the time (a GC pause can push a tiny module
    // over 1 %): check the regressed module's, and leave the rest out of the snapshot.
    let slow_row = md
        .lines()
        .find(|l| l.starts_with("| `nix-tests/fixtures/regress/slow.nix`"))
        .unwrap();
    assert!(slow_row.ends_with("| HIGH |"), "{slow_row}");
    let md = md
        .lines()
        .map(|l| {
            if l.starts_with("| `") {
                let cut = l
                    .trim_end_matches(" |")
                    .rsplit_once("| ")
                    .map_or(l, |x| x.0);
                format!("{cut}| <impact> |")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::with_settings!({snapshot_path => repo().join("nix-tests/snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("performance_report_md", normalize(&md, dir.path()));
    });

    // HTML: one file, nothing fetched from elsewhere, flamegraphs and charts embedded.
    write_report(&db, "html", &out);
    let html = std::fs::read_to_string(out.join("performance-report.html")).unwrap();
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<link")
    );
    assert!(html.contains("id=\"flamegraph\"") && html.contains("id=\"flamegraph-diff\""));
    assert!(html.contains("data:image/svg+xml;base64,"));
    assert!(html.contains("<div class=\"chart\" data-metric=\"eval.wall_s\"><svg"));
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        panic!("chromium is not installed (scripts/setup-debian.sh installs it)");
    };
    let dir = tempfile::tempdir().unwrap();
    let db = regressed_history(dir.path());
    let out = dir.path().join("out");
    write_report(&db, "html", &out);
    let page = out.join("performance-report.html");
    let o = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("chromium").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    // Written by the page's script after load: images decoded, SVG charts and tables in the DOM.
    let rendered = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("page script did not run");
    let parts: Vec<&str> = rendered.split(';').collect();
    for img in parts[0].split(',') {
        let (id, size) = img.split_once(':').unwrap();
        let (w, h) = size.split_once('x').unwrap();
        assert!(
            w.parse::<u32>().unwrap() > 100 && h.parse::<u32>().unwrap() > 100,
            "{id} not rendered: {rendered}"
        );
    }
    assert!(
        parts[0].contains("flamegraph:") && parts[0].contains("flamegraph-diff:"),
        "{rendered}"
    );
    let charts: u32 = parts[1].trim_start_matches("charts:").parse().unwrap();
    let tables: u32 = parts[2].trim_start_matches("tables:").parse().unwrap();
    assert!(charts >= 3, "{rendered}");
    assert!(tables >= 5, "{rendered}");
    assert!(dom.contains("nix-tests/fixtures/regress/slow.nix"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn prometheus_export_passes_promtool_and_is_scraped_through_node_exporter() {
    let dir = tempfile::tempdir().unwrap();
    let db = regressed_history(dir.path());
    // The other kinds of run the dashboard charts: a build (replayed from a saved log) and
    // store/cache metrics through the generic hook.
    ok(np(&db)
        .args(["build", "-o"])
        .arg(dir.path().join("b.db"))
        .arg("--replay")
        .arg(repo().join("nix-tests/build/logs/diamond-stamped.log.json"))
        .output()
        .unwrap());
    record_store(&db, "4.2e10", "0.93");

    let text_dir = dir.path().join("textfile");
    std::fs::create_dir(&text_dir).unwrap();
    let prom = text_dir.join("nixperf.prom");
    ok(np(&db)
        .args(["export", "--format", "prometheus", "-o"])
        .arg(&prom)
        .output()
        .unwrap());
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("nixperf_module_self_seconds{host="));
    assert!(text.contains("module=\"nix-tests/fixtures/regress/slow.nix\""));

    let o = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom).unwrap())
        .output()
        .expect("promtool (Debian package prometheus)");
    assert!(
        o.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // node_exporter's textfile collector serves it on 127.0.0.1.
    let port = free_port();
    let mut ne = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--collector.disable-defaults", "--collector.textfile"])
        .arg(format!(
            "--collector.textfile.directory={}",
            text_dir.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter");
    let mut scraped = None;
    for _ in 0..100 {
        if let Some(b) = http_get(port, "/metrics").filter(|b| b.contains("200 OK")) {
            scraped = Some(b);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = ne.kill();
    let _ = ne.wait();
    let scraped = scraped.expect("node exporter did not answer");
    assert!(
        scraped.contains("node_textfile_scrape_error 0"),
        "textfile collector error"
    );
    let served: std::collections::HashSet<&str> = scraped
        .lines()
        .filter(|l| l.starts_with("nixperf_"))
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for fam in [
        "nixperf_eval_wall_seconds",
        "nixperf_build_wall_seconds",
        "nixperf_cache_hit_ratio",
        "nixperf_store_size_bytes",
    ] {
        assert!(served.contains(fam), "{fam} not served");
    }
    // Every metric the Grafana dashboard queries is served.
    let dash: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("docs/grafana/nixperf-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut queried = Vec::new();
    fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if (k == "expr" || k == "definition") && x.is_string() {
                        out.push(x.as_str().unwrap().to_owned());
                    }
                    exprs(x, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| exprs(x, out)),
            _ => {}
        }
    }
    exprs(&dash, &mut queried);
    let mut names = std::collections::BTreeSet::new();
    for e in &queried {
        for (i, _) in e.match_indices("nixperf_") {
            let n: String = e[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(n);
        }
    }
    assert!(names.len() >= 8, "{names:?}");
    for n in &names {
        assert!(
            served.contains(n.as_str()),
            "dashboard queries {n}, which is not exported"
        );
    }
}

#[test]
fn fleet_merge_puts_the_regressed_host_first() {
    let dir = tempfile::tempdir().unwrap();
    // Host "alpha": a real regression (two real evaluations); host "beta": steady.
    let alpha = regressed_history(dir.path());
    let beta = dir.path().join("beta.db");
    for v in ["10", "10.1"] {
        record(
            &beta,
            &[
                "--kind",
                "eval",
                "--host",
                "beta",
                "--target",
                "/etc/nixos",
                "--metric",
                &format!("eval.wall_s={v}:s"),
            ],
        );
    }
    ok(np(&beta)
        .args(["baseline", "1", "-o"])
        .arg(dir.path().join("bb.json"))
        .output()
        .unwrap());
    // beta as a JSON report, alpha as its history database.
    let rep = dir.path().join("beta-report");
    write_report(&beta, "json", &rep);
    let o = nixperf()
        .args(["fleet", "merge", "--json", "--fail-on-regression"])
        .arg(rep.join("build-metrics.json"))
        .arg(&alpha)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["host"], nixperf::history::env::hostname());
    assert_eq!(rows[0]["status"], "regressed");
    assert!(rows[0]["regressions"].to_string().contains("slow.nix"));
    assert_eq!(rows[1]["host"], "beta");
    assert_eq!(rows[1]["status"], "ok");
    let text = ok(nixperf()
        .args(["fleet", "merge"])
        .arg(rep.join("build-metrics.json"))
        .arg(&alpha)
        .output()
        .unwrap());
    assert!(
        text.contains(&format!("regressed: {}", nixperf::history::env::hostname())),
        "{text}"
    );
    let o = nixperf()
        .args(["fleet", "merge"])
        .arg(repo().join("Cargo.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}
