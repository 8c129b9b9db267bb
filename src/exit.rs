//! nixperf's exit statuses, decided in one place: every command's outcome is one of these, and
//! [`Exit::code`] is the only mapping to a number. Imports nothing from the crate.

/// What a command's exit status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Success,
    /// 1: an error (said in one line on stderr), a failed check, a target that failed to
    /// evaluate.
    Failure,
    /// 2: `--fail-on-regression` and a regression or alert limit breached (compare, fleet).
    Regression,
    /// The profiled nix command's own exit status (clamped to 1..=255; 0 is `Success`).
    Child(i32),
    /// 128 + N: nixperf was interrupted by signal N (forwarded to nix), or nix was killed by it.
    Signal(i32),
    /// 130: the child ended without an exit status or a known signal (as if interrupted).
    Vanished,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Regression => 2,
            Exit::Child(0) => 0,
            Exit::Child(c) => c.clamp(1, 255) as u8,
            Exit::Signal(sig) => (128 + sig).clamp(1, 255) as u8,
            Exit::Vanished => 130,
        }
    }

    /// A child's outcome: its exit code, else the signal that killed it.
    pub fn of_child(code: Option<i32>, signal: Option<i32>) -> Exit {
        match (code, signal) {
            (Some(0), _) => Exit::Success,
            (Some(c), _) => Exit::Child(c),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Vanished,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn codes() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Failure.code(), 1);
        assert_eq!(Exit::Regression.code(), 2);
        assert_eq!(Exit::of_child(Some(100), None).code(), 100);
        assert_eq!(Exit::of_child(Some(300), None).code(), 255);
        assert_eq!(Exit::of_child(Some(0), Some(9)), Exit::Success);
        assert_eq!(Exit::of_child(None, Some(9)).code(), 137);
        assert_eq!(Exit::of_child(None, None).code(), 130);
        assert_eq!(Exit::Signal(2).code(), 130);
    }
}
