//! Build script: finds Nix through pkg-config, defines the version macros the C++ shims key on,
//! and compiles `plugin/` plus the cxx bridge into the plugin cdylib only.
//!
//! The CLI binary must never link Nix, so the C++ archive is passed to the cdylib link step
//! alone (`rustc-link-arg-cdylib`), whole-archive so its static initializers survive.
//! Without Nix headers the crate still builds (CLI only) and says why.

use std::env;
use std::path::{Path, PathBuf};

struct NixVersion {
    major: u32,
    minor: u32,
    patch: u32,
}

fn parse_version(v: &str) -> Option<NixVersion> {
    let mut it = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    Some(NixVersion {
        major: it.next()?.parse().ok()?,
        minor: it.next()?.parse().ok()?,
        patch: it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
    })
}

/// The include directory for Nix's headers: the one holding `eval.hh` (flat layout, Nix < 2.28)
/// or `nix/expr/eval.hh` (Nix >= 2.28, whose headers include each other as `nix/<component>/…`):
/// `NIXPERF_NIX_HEADERS`,
/// else pkg-config's include dirs if they really hold the headers (nixpkgs' Nix installs them),
/// else the tree `scripts/setup-debian.sh` unpacks from Debian's source package (Debian's
/// nix-bin ships no headers).
fn find_headers(lib: &pkg_config::Library, version: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = env::var("NIXPERF_NIX_HEADERS") {
        candidates.push(PathBuf::from(dir));
    }
    for inc in &lib.include_paths {
        candidates.push(inc.clone());
        candidates.push(inc.join("nix"));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".nix-headers")
            .join(version)
            .join("nix"),
    );
    candidates
        .into_iter()
        .find(|d| d.join("eval.hh").exists() || d.join("nix/expr/eval.hh").exists())
}

/// Nix's headers are not warning-clean; keep our own code's warnings readable.
fn system_include(build: &mut cc::Build, dir: &Path) {
    // Re-adding the compiler's own system dirs breaks libstdc++'s #include_next.
    if dir == Path::new("/usr/include") || dir == Path::new("/usr/local/include") {
        return;
    }
    build
        .flag("-isystem")
        .flag(dir.to_str().expect("utf-8 include path"));
}

fn main() {
    println!("cargo:rerun-if-changed=plugin");
    println!("cargo:rerun-if-changed=src/recorder/bridge.rs");
    println!("cargo:rerun-if-env-changed=NIXPERF_NIX_HEADERS");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=NIXPERF_REQUIRE_PLUGIN");
    println!("cargo::rustc-check-cfg=cfg(nixperf_plugin)");

    // Debian keeps Nix's .pc files in a private directory.
    let mut pc_path = env::var("PKG_CONFIG_PATH").unwrap_or_default();
    if Path::new("/usr/lib/nix/pkgconfig").exists() {
        pc_path = format!("{pc_path}:/usr/lib/nix/pkgconfig");
    }
    // SAFETY: build scripts are single-threaded.
    unsafe { env::set_var("PKG_CONFIG_PATH", pc_path) };

    let expr = match pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("nix-expr")
    {
        Ok(lib) => lib,
        Err(e) => {
            println!(
                "cargo:warning=nix-expr not found by pkg-config ({e}); building the CLI without the plugin"
            );
            return;
        }
    };
    let Some(version) = parse_version(&expr.version) else {
        println!(
            "cargo:warning=unparsable Nix version {:?}; building without the plugin",
            expr.version
        );
        return;
    };
    // The hooks are ported by API epoch (plugin/shim.hh): Nix 2.8 and every release from 2.26
    // to LAST_SUPPORTED. For any other Nix, say so in one line; build the CLI alone (`nixperf
    // eval` then falls back to Nix's own --eval-profiler on Nix >= 2.30), or fail when a plugin
    // was asked for (NIXPERF_REQUIRE_PLUGIN=1: scripts/build-plugin-for.sh, the flake), so that
    // nobody gets a plugin .so without hooks.
    const LAST_SUPPORTED: (u32, u32) = (2, 35);
    let mm = (version.major, version.minor);
    let supported = mm == (2, 8) || ((2, 26) <= mm && mm <= LAST_SUPPORTED);
    if !supported {
        let why = if mm > LAST_SUPPORTED {
            format!(
                "Nix {} is newer than the newest Nix the plugin supports, {}.{}",
                expr.version, LAST_SUPPORTED.0, LAST_SUPPORTED.1
            )
        } else {
            format!(
                "Nix {} is not supported (the plugin supports Nix 2.8 and 2.26 … {}.{})",
                expr.version, LAST_SUPPORTED.0, LAST_SUPPORTED.1
            )
        };
        if env::var_os("NIXPERF_REQUIRE_PLUGIN").is_some_and(|v| v == "1") {
            panic!(
                "nixperf plugin: {why}; its shims (plugin/shim*.hh) must be ported to it first (see docs/nix-versions.md)"
            );
        }
        println!(
            "cargo:warning={why}: building the CLI only (nixperf eval falls back to Nix's --eval-profiler on Nix >= 2.30; see docs/nix-versions.md)"
        );
        return;
    }
    let Some(headers) = find_headers(&expr, &expr.version) else {
        println!(
            "cargo:warning=Nix {} headers not found (run scripts/setup-debian.sh or set NIXPERF_NIX_HEADERS); building without the plugin",
            expr.version
        );
        return;
    };

    // The generated header is included as "nixperf/src/recorder/bridge.rs.h" (crate name, then the
    // bridge's path in the crate).
    let mut build = cxx_build::bridge("src/recorder/bridge.rs");
    build
        .cargo_metadata(false)
        .cpp(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .flag("-fvisibility=hidden")
        .flag("-O2")
        // cc adds frame pointers; the call hook's prologue runs on every Nix function call.
        .flag("-fomit-frame-pointer")
        .define("NIXPERF_NIX_MAJOR", version.major.to_string().as_str())
        .define("NIXPERF_NIX_MINOR", version.minor.to_string().as_str())
        .define("NIXPERF_NIX_PATCH", version.patch.to_string().as_str())
        .include("plugin")
        .include(Path::new(env!("CARGO_MANIFEST_DIR")));

    // Nix < 2.26 needs its configure-generated config.h forced in.
    let config_h = headers.join("config.h");
    if config_h.exists() {
        build.flag("-include").flag(config_h.to_str().unwrap());
        build.std("c++17");
    } else if version.minor >= 28 {
        // Nix >= 2.28's headers need C++23 (its pkg-config --cflags say so too).
        build.std("c++23");
    } else {
        build.std("c++20");
    }
    system_include(&mut build, &headers);
    for inc in &expr.include_paths {
        system_include(&mut build, inc);
    }
    // bdw-gc's headers (gc/gc_allocator.h) come in through nix-expr's Requires.
    if let Ok(gc) = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("bdw-gc")
    {
        for inc in &gc.include_paths {
            system_include(&mut build, inc);
        }
    }
    // Every hook family has its shims for every supported version (plugin/shim.hh). unported.cc
    // stubs the families a version's shim marks as missing (NIXPERF_HAVE_*): empty for all.
    let files: &[&str] = &[
        "plugin/plugin.cc",
        "plugin/got_patch.cc",
        "plugin/call_hook.cc",
        "plugin/file_hook.cc",
        "plugin/thunk_hook.cc",
        "plugin/vtable_patch.cc",
        "plugin/findings.cc",
        "plugin/instrument.cc",
        "plugin/file_shape.cc",
        "plugin/ifd_hook.cc",
        "plugin/stats.cc",
        "plugin/exit_hook.cc",
        "plugin/stack_overflow.cc",
        "plugin/unported.cc",
        "plugin/shim_api.cc",
    ];
    for f in files {
        build.file(f);
    }
    build.compile("nixperf_plugin_cxx");

    let out = env::var("OUT_DIR").unwrap();
    println!("cargo:rustc-link-arg-cdylib=-L{out}");
    println!("cargo:rustc-link-arg-cdylib=-Wl,--whole-archive");
    println!("cargo:rustc-link-arg-cdylib=-lnixperf_plugin_cxx");
    println!("cargo:rustc-link-arg-cdylib=-Wl,--no-whole-archive");
    println!("cargo:rustc-link-arg-cdylib=-lstdc++");
    // Nix symbols resolve in the host process; never link Nix's libraries.
    println!("cargo:rustc-link-arg-cdylib=-Wl,-z,undefs");
    println!("cargo:rustc-cfg=nixperf_plugin");
    println!(
        "cargo:rustc-env=NIXPERF_BUILT_NIX_VERSION={}.{}.{}",
        version.major, version.minor, version.patch
    );
}
