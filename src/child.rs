//! A child process (nix) that is never orphaned and that signals meant for nixperf reach:
//!
//! - it dies with nixperf (`die_with_parent`: `PR_SET_PDEATHSIG` = SIGKILL, set in the child
//!   before exec), so a `kill -9` of nixperf never leaves a nix running that nobody reads;
//! - while a `Forwarding` guard lives, SIGINT and SIGTERM sent to nixperf are forwarded to the
//!   child, which stops at its next interrupt check; nixperf waits for it and keeps what it
//!   recorded (Ctrl-C in a terminal reaches both; nix gets it twice, which is harmless).
//!
//! Used by `eval::process` (evaluations) and `build::run` (builds).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// The running child's pid (0: none), read by the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last SIGINT/SIGTERM nixperf received while a child ran (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn forward(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Makes the child of `cmd` die when nixperf does.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing else runs between fork
    // and exec.
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
}

/// SIGINT/SIGTERM forwarded to the child while this lives; the previous handlers come back
/// when it is dropped (once the child has ended, Ctrl-C stops nixperf again).
pub(crate) struct Forwarding {
    old: [libc::sigaction; 2],
}

impl Forwarding {
    /// Installs the handlers. Before spawning: a signal that arrives until `child` is told
    /// the pid is forwarded by `child`.
    pub(crate) fn install() -> Forwarding {
        // SAFETY: a zeroed sigaction is a valid out parameter.
        let mut old: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
        for (i, sig) in SIGNALS.into_iter().enumerate() {
            // SAFETY: a handler that only touches atomics and calls kill().
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = forward as *const () as usize;
                act.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, &mut old[i]);
            }
        }
        Forwarding { old }
    }

    /// The child now running: signals go to it from here on, and one that came before is
    /// passed on now.
    pub(crate) fn child(&self, pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        if let Some(sig) = received() {
            // SAFETY: plain kill of our own child.
            unsafe { libc::kill(pid as i32, sig) };
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
        for (i, sig) in SIGNALS.into_iter().enumerate() {
            // SAFETY: restoring a disposition saved by `install`.
            unsafe { libc::sigaction(sig, &self.old[i], std::ptr::null_mut()) };
        }
    }
}

/// The signal nixperf was asked to stop with while a child ran, if any.
pub(crate) fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
