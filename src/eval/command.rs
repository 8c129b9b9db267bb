//! The nix command line of an evaluation request: which binary, which arguments, with the
//! profiler's options first (nix ignores `plugin-files` given after other arguments).

use super::{EvalError, EvalRequest};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `name` in the request's Nix prefix (its `bin/`), else from PATH.
fn nix_bin(r: &EvalRequest, name: &str) -> PathBuf {
    match &r.nix {
        Some(dir) if dir.join("bin").join(name).exists() => dir.join("bin").join(name),
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// The arguments that name files nix would read, checked before anything runs: a missing
/// `-f FILE` is one line here, not a nix error that looks like a plugin failure.
pub(crate) fn check_target(r: &EvalRequest) -> Result<(), EvalError> {
    if let Some(f) = &r.file {
        let s = f.to_string_lossy();
        let lookup = s.starts_with('<') || s.contains("://");
        if !lookup && !f.exists() {
            return Err(EvalError::Usage(format!(
                "-f {}: no such file or directory",
                f.display()
            )));
        }
    }
    Ok(())
}

/// The command with the plugin loaded, writing its profile to `output`.
pub(crate) fn with_plugin(
    r: &EvalRequest,
    plugin: &Path,
    output: &Path,
) -> Result<(PathBuf, Vec<OsString>), EvalError> {
    let mut opts: Vec<OsString> = vec![
        "--option".into(),
        "plugin-files".into(),
        plugin.into(),
        "--option".into(),
        "nixperf-profile".into(),
        output.into(),
    ];
    for (setting, fragments) in [
        ("nixperf-library", &r.library),
        ("nixperf-module", &r.module),
    ] {
        let fragments: Vec<&str> = fragments
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        if !fragments.is_empty() {
            opts.extend([
                "--option".into(),
                setting.into(),
                fragments.join(",").into(),
            ]);
        }
    }
    with_options(r, opts)
}

/// The nix command line with `opts` (nix options) placed first.
pub(crate) fn with_options(
    r: &EvalRequest,
    opts: Vec<OsString>,
) -> Result<(PathBuf, Vec<OsString>), EvalError> {
    let pairs = |flag: &str, v: &[(String, String)]| -> Vec<OsString> {
        v.iter()
            .flat_map(|(name, value)| [flag.into(), name.into(), value.into()])
            .collect()
    };

    // `-- nix …` / `-- nix-instantiate …`: a whole command; insert our options after its name.
    if let Some(first) = r.rest.first() {
        let name = Path::new(first)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if name == "nix" || name.starts_with("nix-") {
            let mut args = opts;
            args.extend(r.rest[1..].iter().map(OsString::from));
            let bin = if first.contains('/') {
                PathBuf::from(first)
            } else {
                nix_bin(r, first)
            };
            return Ok((bin, args));
        }
    }

    if let Some(flake) = &r.flake {
        let mut args = opts;
        args.extend(
            [
                "--extra-experimental-features",
                "nix-command flakes",
                "eval",
                "--json",
                flake,
            ]
            .map(OsString::from),
        );
        args.extend(pairs("--arg", &r.args));
        args.extend(pairs("--argstr", &r.argstrs));
        args.extend(r.rest.iter().map(OsString::from));
        return Ok((nix_bin(r, "nix"), args));
    }

    let mut args = opts;
    if !r.instantiate {
        args.extend(["--eval", "--strict"].map(OsString::from));
        // As `nix eval` evaluates: derivations can be written and IFD realised.
        if !r.read_only {
            args.push("--read-write-mode".into());
        }
    }
    if let Some(e) = &r.expr {
        args.extend(["-E".into(), e.into()]);
    } else if let Some(f) = &r.file {
        args.push(f.into());
    } else if r.rest.is_empty() {
        return Err(EvalError::Usage(
            "nothing to evaluate: give -f FILE, -E EXPR, --flake REF or a nix command after --"
                .into(),
        ));
    }
    for attr in &r.attrs {
        args.extend(["-A".into(), attr.into()]);
    }
    args.extend(pairs("--arg", &r.args));
    args.extend(pairs("--argstr", &r.argstrs));
    args.extend(r.rest.iter().map(OsString::from));
    Ok((nix_bin(r, "nix-instantiate"), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[OsString]) -> Vec<&str> {
        v.iter().map(|s| s.to_str().unwrap()).collect()
    }

    #[test]
    fn a_file_with_attributes_and_arguments() {
        let r = EvalRequest {
            file: Some("x.nix".into()),
            attrs: vec!["a.b".into()],
            args: vec![("n".into(), "3".into())],
            argstrs: vec![("s".into(), "v".into())],
            ..EvalRequest::default()
        };
        let (bin, args) = with_plugin(&r, Path::new("/p.so"), Path::new("/o.db")).unwrap();
        assert_eq!(bin, PathBuf::from("nix-instantiate"));
        assert_eq!(
            strings(&args),
            [
                "--option",
                "plugin-files",
                "/p.so",
                "--option",
                "nixperf-profile",
                "/o.db",
                "--eval",
                "--strict",
                "--read-write-mode",
                "x.nix",
                "-A",
                "a.b",
                "--arg",
                "n",
                "3",
                "--argstr",
                "s",
                "v"
            ]
        );
    }

    #[test]
    fn a_whole_nix_command_gets_the_options_after_its_name() {
        let r = EvalRequest {
            rest: vec!["nix".into(), "eval".into(), "-f".into(), "x.nix".into()],
            nix: Some("/opt/nix".into()),
            library: vec![" lib/ ".into(), String::new()],
            ..EvalRequest::default()
        };
        let (bin, args) = with_plugin(&r, Path::new("/p.so"), Path::new("/o.db")).unwrap();
        assert_eq!(bin, PathBuf::from("/opt/nix/nix"));
        assert_eq!(
            strings(&args)[6..],
            ["--option", "nixperf-library", "lib/", "eval", "-f", "x.nix"]
        );
    }

    #[test]
    fn nothing_to_evaluate_is_a_usage_error() {
        let e = with_options(&EvalRequest::default(), vec![]).unwrap_err();
        assert!(e.to_string().starts_with("nothing to evaluate"), "{e}");
    }
}
