//! Why a nix run left no profile, in one line, from what nix said and how it ended. "The plugin
//! did not load" only when nix said so; otherwise the real cause (stack overflow, a missing file,
//! the plugin failing to write the profile, a signal), else nix's own last error line.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// One line naming the cause. `stderr` is the tail of what nix printed.
pub(super) fn no_profile(program: &str, status: ExitStatus, stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| strip_ansi(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    let last_error = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.to_string());

    if has("stack overflow") {
        // The plugin finishes a partial profile from Nix's stack overflow handler where that is
        // safe (plugin/stack_overflow.cc); with no profile left, its own line says why not.
        let why = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("nixperf:"))
            .map(|l| l.trim_start_matches("nixperf:").trim().to_owned())
            .unwrap_or_else(|| {
                "the plugin's stack overflow hook did not run (Nix's handler calls _exit, which skips the exit hook that writes the profile)".to_owned()
            });
        return format!(
            "{program} ran out of stack (\"error: stack overflow\", deep or infinite recursion) and left no partial profile: {why}"
        );
    }
    if status.signal() == Some(libc::SIGSEGV) {
        return format!(
            "{program} crashed with SIGSEGV (most likely a stack overflow in deep recursion) before the profile could be written"
        );
    }
    // The plugin's own words: it loaded, ran, and could not write the file.
    if let Some(l) = lines.iter().rev().find(|l| l.starts_with("nixperf:")) {
        return format!(
            "{program} ran with the plugin, but the profile could not be written: {}",
            l.trim_start_matches("nixperf:").trim()
        );
    }
    if has("could not dynamically open plugin")
        || has("unknown setting 'nixperf-profile'")
        || has("plugin-files set after plugins were loaded")
    {
        return format!(
            "{program} exited ({status}) without writing a profile: the plugin did not load ({})",
            last_error
                .or_else(|| lines
                    .iter()
                    .find(|l| l.contains("plugin") || l.contains("nixperf-profile"))
                    .map(|l| l.to_string()))
                .unwrap_or_default()
        );
    }
    if let Some(sig) = status.signal() {
        return format!("{program} was killed by signal {sig} before it wrote a profile");
    }
    match last_error {
        Some(e) => format!("{program} failed before evaluating anything ({status}): {e}"),
        None => format!(
            "{program} exited ({status}) without writing a profile and without an error message"
        ),
    }
}

/// One line naming why an evaluation that left a partial profile stopped, where the profile's
/// reason alone would not say what to do: running out of stack.
pub(crate) fn partial(reason: &str) -> Option<String> {
    if reason.contains("max-call-depth") {
        return Some(format!(
            "nix stopped at its max-call-depth limit ({reason}): deep or infinite recursion; the partial profile shows the calls up to there (nixperf report collapses the recursion)"
        ));
    }
    reason.contains("stack overflow").then(|| {
        "nix ran out of stack (\"error: stack overflow\", deep or infinite recursion) and exited; the plugin wrote the partial profile from Nix's overflow handler: the calls up to the overflow (nixperf report collapses the recursion)".to_owned()
    })
}

fn strip_ansi(s: &str) -> &str {
    // Nix colours "error:"; the patterns above match the text after the escape codes.
    match s.find("error:") {
        Some(i) if s[..i].contains('\x1b') => &s[i..],
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn st(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn names_the_real_cause() {
        let so = no_profile(
            "nix-instantiate",
            st(1),
            "error: stack overflow (possible infinite recursion)\n",
        );
        assert!(so.contains("ran out of stack"), "{so}");
        assert!(so.contains("hook did not run"), "{so}");
        let inside = no_profile(
            "nix-instantiate",
            st(1),
            "nixperf: the stack overflowed inside libc, where finishing the profile could deadlock or read half-updated data: no partial profile\nerror: stack overflow (possible infinite recursion)\n",
        );
        assert!(inside.contains("ran out of stack"), "{inside}");
        assert!(inside.contains("inside libc"), "{inside}");
        assert!(
            partial("error: stack overflow (possible infinite recursion)")
                .unwrap()
                .contains("ran out of stack")
        );
        assert!(
            partial("error: stack overflow; max-call-depth exceeded")
                .unwrap()
                .contains("max-call-depth")
        );
        assert!(partial("error: assertion failed").is_none());
        let missing = no_profile(
            "nix-instantiate",
            st(1),
            "\x1b[31;1merror:\x1b[0m getting status of '/x/missing.nix': No such file or directory\n",
        );
        assert!(missing.contains("missing.nix"), "{missing}");
        assert!(!missing.contains("plugin did not load"), "{missing}");
        let full = no_profile(
            "nix-instantiate",
            st(0),
            "nixperf: /x/p.db: cannot write profile: database or disk is full\n",
        );
        assert!(full.contains("disk is full"), "{full}");
        let noplug = no_profile(
            "nix-instantiate",
            st(0),
            "warning: unknown setting 'nixperf-profile'\n",
        );
        assert!(noplug.contains("plugin did not load"), "{noplug}");
        let segv = no_profile("nix", ExitStatus::from_raw(libc::SIGSEGV), "");
        assert!(segv.contains("SIGSEGV"), "{segv}");
    }
}
