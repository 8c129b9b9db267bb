//! Runs the nix child of an evaluation so that no run is lost and no nix is orphaned:
//!
//! - nix dies with nixperf (`PR_SET_PDEATHSIG` = SIGKILL, set in the child before exec): a
//!   `kill -9` of nixperf never leaves an evaluation running that nobody reads;
//! - SIGINT and SIGTERM sent to nixperf alone while nix runs are forwarded to nix, which stops
//!   at its next interrupt check and writes its partial profile; nixperf waits for it, then
//!   records that partial profile (Ctrl-C in a terminal reaches both; nix gets it twice, which
//!   is harmless) and exits 128 + the signal;
//! - nix's stderr is passed through as it arrives and its tail kept, so that a run that leaves
//!   no profile can be explained by what nix said (see `diagnose`).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

/// The running child's pid (0: none), read by the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last SIGINT/SIGTERM nixperf received while a child ran (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Bytes of nix's stderr kept for the diagnosis.
const TAIL: usize = 16 << 10;

extern "C" fn forward(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Installs the forwarding handlers for SIGINT and SIGTERM; returns the previous ones.
fn install_forwarding() -> [libc::sigaction; 2] {
    let mut old: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
    for (i, sig) in [libc::SIGINT, libc::SIGTERM].into_iter().enumerate() {
        // SAFETY: a handler that only touches atomics and calls kill().
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = forward as *const () as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, &mut old[i]);
        }
    }
    old
}

/// Puts back what `install_forwarding` replaced: once nix has ended, Ctrl-C stops nixperf again.
fn restore(old: &[libc::sigaction; 2]) {
    for (i, sig) in [libc::SIGINT, libc::SIGTERM].into_iter().enumerate() {
        // SAFETY: restoring a disposition saved above.
        unsafe { libc::sigaction(sig, &old[i], std::ptr::null_mut()) };
    }
}

/// The signal nixperf was asked to stop with, if any.
pub(crate) fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

pub(crate) struct Finished {
    pub status: ExitStatus,
    /// The last bytes nix wrote on stderr (lossy UTF-8).
    pub stderr_tail: String,
}

/// Spawns `cmd` (stdin/stdout already configured by the caller), passes its stderr through,
/// forwards SIGINT/SIGTERM to it and waits for it.
pub(crate) fn run(cmd: Command) -> std::io::Result<Finished> {
    let old = install_forwarding();
    let r = run_forwarding(cmd);
    restore(&old);
    r
}

fn run_forwarding(mut cmd: Command) -> std::io::Result<Finished> {
    cmd.stderr(Stdio::piped());
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        let parent = libc::getpid();
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died between fork and prctl: do not run unattended.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    // A signal that arrived between installing the handler and storing the pid.
    if let Some(sig) = received() {
        // SAFETY: plain kill of our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
    }
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
            Err(e) => {
                CHILD.store(0, Ordering::SeqCst);
                return Err(e);
            }
        }
    };
    CHILD.store(0, Ordering::SeqCst);
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
