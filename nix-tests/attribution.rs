//! Which files are modules and which are helper libraries (decided from their code), the
//! `--library` / `--module` overrides, why each slow module is slow, and the module flamegraph —
//! on the flake-style fleet-config fixture evaluated by nixpkgs' real `lib.evalModules`, on the
//! bundled example and on nixpkgs' own module tests. (The ranking itself is checked against an
//! ablation in ablation.rs.)

mod common;
use common::*;
use nixperf::analysis::modules::{View, module_table, module_table_with};
use nixperf::profile::{FileRole, Profile};
use std::path::Path;

fn fleet(extra: &[&str]) -> Option<Run> {
    let lib = nixpkgs_lib()?;
    let lib = lib.to_string_lossy().into_owned();
    let mut args = vec![
        "-f",
        "nix-tests/fixtures/fleet-config",
        "--arg",
        "nixpkgsLib",
    ];
    args.push(&lib);
    args.extend_from_slice(extra);
    let run = eval(&args);
    assert!(run.output.status.success(), "{}", run.stderr());
    Some(run)
}

fn role_of(p: &Profile, suffix: &str) -> FileRole {
    file(p, suffix).role
}

#[test]
fn files_are_classified_from_their_code() {
    let Some(run) = fleet(&[]) else {
        eprintln!("skipped: no nixpkgs lib (NIXPKGS_LIB or ../shared/nixpkgs-lib/lib)");
        return;
    };
    let p = run.profile();
    // Helpers, in each style the fixture uses.
    for h in [
        "fleet-config/utils.nix",           // lib: rec { … }
        "fleet-config/mylib.nix",           // { lib }: { … }
        "fleet-config/helpers/strings.nix", // { lib }: { … }
        "fleet-config/helpers/default.nix", // { lib }: import … // import …
    ] {
        assert_eq!(
            role_of(&p, h),
            FileRole::Helper,
            "{h}: {}",
            file(&p, h).role_why
        );
    }
    assert_eq!(role_of(&p, "fleet-config/default.nix"), FileRole::Entry);
    assert_eq!(role_of(&p, "modules/desktop/panel.nix"), FileRole::Module);
    assert_eq!(role_of(&p, "modules/services/nginx.nix"), FileRole::Module);
    assert_eq!(role_of(&p, "fleet-config/overlay.nix"), FileRole::Overlay);
    assert_eq!(role_of(&p, "pkgs/site-index.nix"), FileRole::Package);
    // nixpkgs' lib by its own files, whatever the path.
    assert_eq!(role_of(&p, "lib/modules.nix"), FileRole::NixpkgsLib);
    assert_eq!(role_of(&p, "lib/attrsets.nix"), FileRole::NixpkgsLib);
    assert!(file(&p, "lib/modules.nix").is_library);
    assert!(!file(&p, "fleet-config/utils.nix").is_library);
    // Reasons users can read.
    assert_eq!(
        file(&p, "fleet-config/utils.nix").role_why,
        "helper library: a set of 7 functions, 1 other value behind lib:"
    );
    assert!(
        file(&p, "modules/desktop/panel.nix")
            .role_why
            .starts_with("NixOS module: {")
    );

    // Module view: helpers are not rows (they ran under modules), the module that causes the
    // work is first and carries its helpers' time; by file, utils.nix has its own row again.
    let t = module_table(&p);
    assert!(
        t.rows[0].path.ends_with("modules/desktop/panel.nix"),
        "{:?}",
        t.rows[0].path
    );
    assert!(!t.rows.iter().any(|r| r.path.ends_with("utils.nix")));
    let panel = &t.rows[0];
    assert!(panel.helpers_ns > panel.self_ns / 3, "{panel:?}");
    let by_file = module_table_with(&p, View::ByFile);
    let utils = by_file
        .rows
        .iter()
        .position(|r| r.path.ends_with("utils.nix"));
    let panel_by_file = by_file
        .rows
        .iter()
        .position(|r| r.path.ends_with("panel.nix"));
    assert!(
        utils.unwrap() < panel_by_file.unwrap(),
        "by file, utils.nix outranks panel.nix"
    );
    // The two views account for the same total.
    let sum = |v: &nixperf::analysis::modules::ModuleTable| -> u64 {
        v.rows.iter().map(|r| r.self_ns).sum::<u64>()
    };
    let (a, b) = (sum(&t), sum(&by_file));
    assert!(a.abs_diff(b) <= a / 100 + 1_000_000, "{a} vs {b}");
    // The classification the report prints.
    let c = &t.classification;
    assert!(
        c.helpers
            .iter()
            .any(|h| h.path.ends_with("utils.nix") && h.rolled_up_ns > 0)
    );
    assert!(
        c.counts
            .iter()
            .any(|(r, n)| *r == FileRole::NixpkgsLib && *n >= 5)
    );
}

#[test]
fn a_config_under_var_lib_is_profiled_like_any_other() {
    let Some(lib) = nixpkgs_lib() else {
        eprintln!("skipped: no nixpkgs lib");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("var/lib/nixos-config");
    copy_tree(&fixture("fixtures/fleet-config"), &root);
    let run = eval(&[
        "-f",
        root.to_str().unwrap(),
        "--arg",
        "nixpkgsLib",
        lib.to_str().unwrap(),
    ]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_eq!(
        role_of(&p, "nixos-config/modules/desktop/panel.nix"),
        FileRole::Module
    );
    assert_eq!(role_of(&p, "nixos-config/utils.nix"), FileRole::Helper);
    let t = module_table(&p);
    assert!(t.rows.len() >= 15, "{} rows", t.rows.len());
    assert!(
        t.rows[0]
            .path
            .ends_with("nixos-config/modules/desktop/panel.nix")
    );
}

#[test]
fn overrides_add_to_the_classification_and_warn_about_unmatched_fragments() {
    let Some(run) = fleet(&[
        "--module",
        "utils.nix,no-such-fragment",
        "--library",
        "modules/programs/",
        "--library",
        "no-such-fragment-either",
    ]) else {
        return;
    };
    let p = run.profile();
    // --module keeps utils.nix a row of its own; the automatic classification still applies
    // to the rest (mylib.nix stays a helper, nixpkgs lib stays library).
    assert_eq!(role_of(&p, "fleet-config/utils.nix"), FileRole::Module);
    assert_eq!(
        file(&p, "fleet-config/utils.nix").role_why,
        "--module utils.nix"
    );
    assert_eq!(role_of(&p, "fleet-config/mylib.nix"), FileRole::Helper);
    assert_eq!(role_of(&p, "lib/modules.nix"), FileRole::NixpkgsLib);
    assert_eq!(role_of(&p, "modules/programs/git.nix"), FileRole::Helper);
    let t = module_table(&p);
    assert!(t.rows.iter().any(|r| r.path.ends_with("utils.nix")));
    // Each unmatched fragment warned about once, by eval and by report.
    let err = run.stderr();
    for frag in ["no-such-fragment", "no-such-fragment-either"] {
        let line = format!(" {frag}: matched no file");
        assert_eq!(err.matches(&line).count(), 1, "{frag} in:\n{err}");
    }
    assert_eq!(p.meta.module_patterns, ["utils.nix", "no-such-fragment"]);
    let report = nixperf()
        .args(["report", "--no-files"])
        .arg(&run.profile_path)
        .output()
        .unwrap();
    let out = ok(&report);
    assert!(out.contains("--module utils.nix: 1 file"), "{out}");
    assert!(
        out.contains("--library no-such-fragment-either: 0 files"),
        "{out}"
    );
    assert!(
        String::from_utf8_lossy(&report.stderr)
            .contains("no-such-fragment-either: matched no file")
    );
}

#[test]
fn the_top_modules_say_why_they_are_slow() {
    let Some(run) = fleet(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = nixperf()
        .args(["report", "--json", "-o"])
        .arg(dir.path())
        .arg(&run.profile_path)
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let top = &j["modules"]["rows"][0];
    assert!(top["path"].as_str().unwrap().ends_with("panel.nix"));
    let why = &top["why"];
    // panel.nix's work is done by utils.nix's helpers: they are most of its time, and its top
    // functions are utils.nix's (with the builtins they call), reached from panel.nix.
    let total = why["total_ns"].as_f64().unwrap();
    assert!(why["helpers_ns"].as_f64().unwrap() > 0.3 * total, "{why}");
    let hot = why["hotspots"].as_array().unwrap();
    assert!(!hot.is_empty());
    let first = &hot[0];
    assert!(
        first["function"]["file"]
            .as_str()
            .unwrap()
            .ends_with("utils.nix"),
        "{first}"
    );
    assert!(first["calls"].as_u64().unwrap() >= 30_000, "{first}");
    // The module's own row in the tree and its file row agree on its time.
    let row_ns = top["self_ns"].as_f64().unwrap();
    assert!(
        (total - row_ns).abs() < 0.15 * row_ns,
        "tree {total} vs row {row_ns}"
    );
    // The Markdown report carries the same explanation.
    let md = std::fs::read_to_string(dir.path().join("performance-report.md")).unwrap();
    assert!(md.contains("### Why the top modules are slow"), "{md}");
    assert!(md.contains("utils.nix"), "{md}");
    assert!(md.contains("### Classification"));
}

#[test]
fn module_flamegraph_has_the_owning_module_at_the_bottom_and_frames_with_columns() {
    let Some(run) = fleet(&[]) else { return };
    let p = run.profile();
    let base = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    let by_module = nixperf::analysis::stacks::folded_by_module(&p, base).stacks;
    // Every stack starts at a module (or the evaluator), never at a helper.
    let mut panel_ns = 0u64;
    for (stack, ns) in &by_module {
        let bottom = stack.split(';').next().unwrap();
        assert!(
            bottom.starts_with('[') || bottom == "\u{ab}evaluator\u{bb}",
            "{stack}"
        );
        assert!(!bottom.contains("utils.nix"), "{stack}");
        if bottom.ends_with("panel.nix]") {
            panel_ns += ns;
        }
    }
    let panel = module_table(&p).rows[0].self_ns;
    assert!(
        panel_ns.abs_diff(panel) < panel / 7,
        "{panel_ns} vs {panel}"
    );
    // The weights of both flamegraphs are the same time.
    let plain: u64 = nixperf::analysis::stacks::folded(&p, base).total();
    let modules: u64 = by_module.values().sum();
    assert_eq!(plain, modules);
    // utils.nix's curried `kv = k: v: …` is two frames told apart by their column.
    let stacks = nixperf::analysis::stacks::folded(&p, base).stacks;
    let kv_frames: std::collections::BTreeSet<&str> = stacks
        .keys()
        .flat_map(|s| s.split(';'))
        .filter(|f| f.starts_with("kv ") && f.contains("utils.nix:19:"))
        .collect();
    assert_eq!(kv_frames.len(), 2, "{kv_frames:?}");
    // The files `report` writes.
    let dir = tempfile::tempdir().unwrap();
    ok(nixperf()
        .args(["report", "--no-files", "-o"])
        .arg(dir.path())
        .arg(&run.profile_path)
        .output()
        .unwrap());
    ok(nixperf()
        .args(["report", "-o"])
        .arg(dir.path())
        .arg(&run.profile_path)
        .output()
        .unwrap());
    let svg = std::fs::read_to_string(dir.path().join("flamegraph-modules.svg")).unwrap();
    assert!(svg.contains("panel.nix]"));
}

#[test]
fn the_bundled_example_keeps_its_ranking() {
    let run = eval(&["-f", "nix-tests/example", "-A", "config"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    let t = module_table(&p);
    assert!(t.rows[0].path.ends_with("modules/heavy-packages.nix"));
    assert!(t.rows[0].share > 0.8, "{}", t.rows[0].share);
    // Its lib/ is a small copy of nixpkgs' lib without fixed-points.nix: helpers by their code.
    for f in [
        "lib/lists.nix",
        "lib/trivial.nix",
        "lib/default.nix",
        "lib/types.nix",
    ] {
        assert_eq!(
            role_of(&p, &format!("example/{f}")),
            FileRole::Helper,
            "{f}"
        );
    }
    assert_eq!(role_of(&p, "example/default.nix"), FileRole::Entry);
    assert_eq!(role_of(&p, "example/modules/default.nix"), FileRole::Module);
}

#[test]
fn nixpkgs_own_module_tests_are_modules_not_library() {
    let Some(lib) = nixpkgs_lib() else { return };
    // lib/tests/modules/*.nix are ordinary modules evaluated by lib.evalModules.
    let expr = format!(
        "(import {lib}).evalModules {{ modules = [ {lib}/tests/modules/declare-int-positive-value.nix {lib}/tests/modules/define-value-int-positive.nix ]; }}",
        lib = lib.display()
    );
    let run = eval(&["-E", &format!("({expr}).config.value")]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    // The first file parsed after the `-E` expression is the entry; a module either way.
    let declare = role_of(&p, "tests/modules/declare-int-positive-value.nix");
    assert!(
        matches!(declare, FileRole::Module | FileRole::Entry),
        "{declare:?}"
    );
    // `{ value = 42; }`: a module with its config written directly reads as data; either way a
    // row of its own, never rolled up.
    assert!(!role_of(&p, "tests/modules/define-value-int-positive.nix").rolls_up());
    assert_eq!(role_of(&p, "lib/types.nix"), FileRole::NixpkgsLib);
    let t = module_table(&p);
    assert!(
        t.rows
            .iter()
            .any(|r| r.path.ends_with("define-value-int-positive.nix"))
    );
}
