use super::db::StoreGraph;
use super::files::{self, Inodes, PathFiles};
use super::gc::{self, GcSettings, Walker};
use super::roots::{Root, RootKind};
use super::*;
use std::path::PathBuf;
use std::process::Command;

fn nix_hash(p: &std::path::Path) -> Option<String> {
    let out = Command::new("nix-hash")
        .args(["--type", "sha256", "--base32"])
        .arg(p)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn base32_matches_nix() {
    // sha256("") in Nix's base-32 (nix-hash --to-base32 e3b0c442…).
    let h: Vec<u8> = (0..32)
        .map(|i| {
            u8::from_str_radix(
                &"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    [2 * i..2 * i + 2],
                16,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(
        nar::base32(&h),
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
    );
}

#[test]
fn file_nar_hash_matches_nix_hash() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("f");
    std::fs::write(&f, b"hello nar\n").unwrap();
    let x = d.path().join("x");
    std::fs::write(&x, vec![7u8; 13]).unwrap();
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o555)).unwrap();
    let l = d.path().join("l");
    std::os::unix::fs::symlink("../some/target", &l).unwrap();
    for p in [&f, &x, &l] {
        let m = std::fs::symlink_metadata(p).unwrap();
        let ours = nar::file_nar_hash(p, &m).unwrap().unwrap();
        if let Some(theirs) = nix_hash(p) {
            assert_eq!(ours, theirs, "{}", p.display());
        }
    }
}

#[test]
fn store_base_names() {
    assert!(is_store_base("0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12"));
    assert!(!is_store_base("0mdqa9w1p6cmli6976v4wi0sw9r4p5pr"));
    assert!(!is_store_base("0mdqa9w1p6cmli6976v4wi0sw9r4p5pe-x")); // 'e' is not base-32
    assert!(!is_store_base(".links"));
    let loc = StoreLocation::new(
        "/nix/store",
        std::path::Path::new("/nix/var/nix"),
        None,
        None,
    );
    assert_eq!(
        loc.to_store_base("/nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello/bin/hello"),
        Some("0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello")
    );
    assert_eq!(loc.to_store_base("/nix/storex/a"), None);
}

/// out0 → lib1; out0's deriver drv2 → src3 (a .drv input); drv4 unrelated with output 5.
fn graph() -> StoreGraph {
    let names = ["a-out", "b-lib", "c-out.drv", "d-src", "e.drv", "f-out"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    StoreGraph::from_parts(
        names,
        vec![100, 10, 1, 5, 1, 1000],
        vec![0; 6],
        vec![Some(2), None, None, None, None, Some(4)],
        &[(0, 1), (2, 3)],
        &[(2, 0), (4, 5)],
    )
}

fn closure(g: &StoreGraph, s: GcSettings, start: u32) -> Vec<u32> {
    let mut w = Walker::new(g, s);
    let mut v = Vec::new();
    w.closure([start], |x| v.push(x));
    v.sort();
    v
}

#[test]
fn liveness_follows_keep_settings() {
    let g = graph();
    let kd = GcSettings {
        keep_derivations: true,
        keep_outputs: false,
    };
    assert_eq!(closure(&g, kd, 0), vec![0, 1, 2, 3]);
    let none = GcSettings {
        keep_derivations: false,
        keep_outputs: false,
    };
    assert_eq!(closure(&g, none, 0), vec![0, 1]);
    let ko = GcSettings {
        keep_derivations: false,
        keep_outputs: true,
    };
    assert_eq!(closure(&g, ko, 4), vec![4, 5]);
    assert_eq!(closure(&g, none, 4), vec![4]);
}

fn gen_root(profile: &str, n: u64, current: bool, created: i64) -> Root {
    Root {
        link: PathBuf::from(format!("{profile}-{n}-link")),
        target: String::new(),
        index: 0,
        kind: RootKind::Generation {
            profile: PathBuf::from(profile),
            number: n,
            current,
            created,
        },
    }
}

#[test]
fn delete_older_than_keeps_the_generation_current_at_the_cutoff() {
    let day = 86400;
    let now = 100 * day;
    let p = "/s/profiles/system";
    // Generations 1..5 created 50, 40, 20, 10, 1 days ago; 4 is current (rolled back).
    let roots = vec![
        gen_root(p, 1, false, now - 50 * day),
        gen_root(p, 2, false, now - 40 * day),
        gen_root(p, 3, false, now - 20 * day),
        gen_root(p, 4, true, now - 10 * day),
        gen_root(p, 5, false, now - day),
        // Outside <state>/profiles: nix-collect-garbage never touches it.
        gen_root("/home/u/profile", 1, false, now - 90 * day),
    ];
    let pd = std::path::Path::new("/s/profiles");
    // 30 days: generation 2 (40 days) was current at the cutoff → kept; 1 goes.
    assert_eq!(gc::older_than(&roots, pd, now, 30), vec![0]);
    // 15 days: 3 is the first older than the cutoff → kept; 1 and 2 go.
    assert_eq!(gc::older_than(&roots, pd, now, 15), vec![0, 1]);
    // 5 days: 4 kept (and current); 1-3 go; 5 is newer than the cutoff.
    assert_eq!(gc::older_than(&roots, pd, now, 5), vec![0, 1, 2]);
    assert_eq!(gc::all_old(&roots, pd), vec![0, 1, 2, 4]);
}

#[test]
fn freed_bytes_follow_nix_link_count_accounting() {
    let mut ino = Inodes::default();
    // 0: plain file, 1 link; 1: optimised file (.links + 2 paths); 2: optimised, .links + 1.
    for (nlink, size, blocks, i) in [(1, 1000, 4096, 10), (3, 500, 4096, 11), (2, 300, 4096, 12)] {
        ino.nlink.push(nlink);
        ino.size.push(size);
        ino.blocks.push(blocks);
        ino.ino.push(i);
    }
    let links: rustc_hash::FxHashSet<u64> = [11, 12].into_iter().collect();
    let p1 = PathFiles {
        inodes: vec![0, 1, 2],
        dir_bytes: 4096,
    };
    let p2 = PathFiles {
        inodes: vec![1],
        dir_bytes: 4096,
    };
    // Deleting p1 alone: 0 counted (1 link), 1 not (3 links), 2 counted (2 links).
    let f = files::freed(&ino, [&p1], &links);
    assert_eq!(f.nix_reported, 1000 + 300);
    assert_eq!(f.disk, 4096 + 4096 + 4096);
    // Both: inode 1 seen at 3 then 2 links → counted once, freed with its .links entry.
    let f = files::freed(&ino, [&p1, &p2], &links);
    assert_eq!(f.nix_reported, 1000 + 500 + 300);
    assert_eq!(f.disk, 2 * 4096 + 3 * 4096);
}
