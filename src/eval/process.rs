//! Runs the nix child of an evaluation so that no run is lost and no nix is orphaned: it dies
//! with nixperf, SIGINT/SIGTERM sent to nixperf are forwarded to it (`crate::child`), so that
//! it writes its partial profile, which nixperf then records before exiting 128 + the signal;
//! its stderr is passed through as it arrives and its tail kept, so that a run that leaves no
//! profile can be explained by what nix said (see `diagnose`).

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};

/// Bytes of nix's stderr kept for the diagnosis.
const TAIL: usize = 16 << 10;

pub(crate) use crate::child::received;

pub(crate) struct Finished {
    pub status: ExitStatus,
    /// The last bytes nix wrote on stderr (lossy UTF-8).
    pub stderr_tail: String,
}

/// Spawns `cmd` (stdin/stdout already configured by the caller), passes its stderr through,
/// forwards SIGINT/SIGTERM to it and waits for it.
pub(crate) fn run(mut cmd: Command) -> std::io::Result<Finished> {
    cmd.stderr(Stdio::piped());
    crate::child::die_with_parent(&mut cmd);
    let forwarding = crate::child::Forwarding::install();
    let mut child = cmd.spawn()?;
    forwarding.child(child.id());
    let mut pipe = child.stderr.take().expect("piped stderr");
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    let stderr = std::io::stderr();
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let _ = stderr.lock().write_all(&buf[..n]);
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * TAIL {
                    tail.drain(..tail.len() - TAIL);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    drop(forwarding);
    Ok(Finished {
        status,
        stderr_tail: String::from_utf8_lossy(&tail).into_owned(),
    })
}

/// Runs nix for a request (plugin or fallback): a `--nix` prefix's own configuration (a prefix
/// with `etc/nix/nix.conf`, from scripts/build-nix.sh or scripts/debian-nix-bin.sh, has its own
/// store and no substituters; used unless the caller chose NIX_CONF_DIR), no stdin, the
/// evaluated value on stdout only with `show_output`, nix's messages on stderr (their tail kept
/// for the diagnosis), SIGINT/SIGTERM forwarded, nix killed if nixperf dies.
pub(crate) fn run_nix(
    r: &super::EvalRequest,
    bin: &std::path::Path,
    args: &[std::ffi::OsString],
) -> Result<Finished, super::EvalError> {
    let mut cmd = Command::new(bin);
    if let Some(dir) = &r.nix {
        let conf = dir.join("etc/nix");
        if conf.join("nix.conf").is_file() && std::env::var_os("NIX_CONF_DIR").is_none() {
            cmd.env("NIX_CONF_DIR", conf);
        }
    }
    if r.nix_stats {
        cmd.env("NIXPERF_NIX_STATS", "1");
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(if r.show_output {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    run(cmd).map_err(|source| super::EvalError::Spawn {
        bin: bin.to_owned(),
        source,
    })
}

/// nix's outcome as nixperf's: its exit code; 128 + the signal when nixperf was interrupted
/// (the signal was forwarded to nix) or nix was killed by one.
pub(crate) fn exit_code(status: ExitStatus) -> std::process::ExitCode {
    use crate::exit::Exit;
    use std::os::unix::process::ExitStatusExt;
    match received() {
        Some(sig) => Exit::Signal(sig),
        None => Exit::of_child(status.code(), status.signal()),
    }
    .into()
}
