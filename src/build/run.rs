//! Runs a nix command with `--log-format internal-json -v`, stamps every stderr line on receipt,
//! saves the stamped log (replayable), shows the user a readable view, and samples resources.
//!
//! Saved log format: `@` lines as `<ns since start> <line>`, other stderr text verbatim, plus a
//! header `@nixperf {"command":…,"started_at":…}` and a trailer `@nixperf {"exit_code":…}`, so a
//! replay sees exactly the lines, times and outcome the live run saw.

use super::BuildError;
use super::buildcpu::BuildCpu;
use super::ingest::Ingest;
use super::log::{Action, Body, BuildCpuLine, parse_line, res};
use super::model::BuildProfile;
use super::resources::Sampler;
use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// The command with the logging flags added: right after the program for nix's own binaries
/// (`nix`, `nix-build`, `nix-store`, … accept them anywhere before a `--`), at the end for
/// wrappers such as `nixos-rebuild`, which pass unknown flags on to nix.
pub(crate) fn with_log_flags(cmd: &[String]) -> Vec<String> {
    let flags = ["--log-format", "internal-json", "-v"].map(String::from);
    let prog = cmd
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("");
    let mut out = cmd.to_vec();
    if prog.starts_with("nix") && !prog.starts_with("nixos-") {
        out.splice(1..1, flags);
    } else {
        out.extend(flags);
    }
    out
}

/// Shows what nix would have shown at its default verbosity: messages and activity texts at
/// level ≤ info, build output prefixed with the derivation name (like `nix build -L`).
struct LiveView {
    names: FxHashMap<u64, String>,
}

impl LiveView {
    fn line(&mut self, raw: &str, out: &mut impl Write) {
        let Ok(l) = parse_line(raw) else {
            let _ = writeln!(out, "{raw}");
            return;
        };
        let _ = match l.body {
            Body::Text(t) => writeln!(out, "{t}"),
            Body::Nixperf(_) => Ok(()),
            Body::Nix(Action::Msg { level, msg }) if level <= 3 => writeln!(out, "{msg}"),
            Body::Nix(Action::Start {
                id,
                level,
                text,
                fields,
                ..
            }) => {
                if let Some(drv) = fields.str(0).filter(|d| d.ends_with(".drv")) {
                    self.names
                        .insert(id, super::model::store_name(drv).to_string());
                }
                if level <= 3 && !text.is_empty() {
                    writeln!(out, "{text}")
                } else {
                    Ok(())
                }
            }
            Body::Nix(Action::Stop { id }) => {
                self.names.remove(&id);
                Ok(())
            }
            Body::Nix(Action::Result { id, ty, fields })
                if ty == res::BUILD_LOG_LINE || ty == res::POST_BUILD_LOG_LINE =>
            {
                let name = self.names.get(&id).map(String::as_str).unwrap_or("");
                writeln!(out, "{name}> {}", fields.str(0).unwrap_or(""))
            }
            _ => Ok(()),
        };
    }
}

/// Runs `cmd`, writes the stamped log to `log_path`, returns the profile (without graph edges).
/// `quiet`: no live view. `stdout_to_stderr`: the command's stdout goes to stderr (keeps
/// nixperf's stdout clean for `--json`).
pub(crate) fn run(
    cmd: &[String],
    log_path: &Path,
    quiet: bool,
    stdout_to_stderr: bool,
) -> Result<BuildProfile, BuildError> {
    let full = with_log_flags(cmd);
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let io = |e: std::io::Error| BuildError::Log {
        path: log_path.to_owned(),
        source: e,
    };
    let mut log = BufWriter::new(std::fs::File::create(log_path).map_err(io)?);
    let t0 = Instant::now();
    let mut nix = Command::new(&full[0]);
    nix.args(&full[1..])
        .stdin(Stdio::inherit())
        .stdout(if stdout_to_stderr {
            Stdio::from(std::io::stderr())
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::piped());
    // nix dies with nixperf, and SIGINT/SIGTERM sent to nixperf reach it: nix stops, nixperf
    // stays to write the profile (marked interrupted) and exits 128 + the signal.
    crate::child::die_with_parent(&mut nix);
    let forwarding = crate::child::Forwarding::install();
    let mut child = nix.spawn().map_err(|e| BuildError::Spawn {
        program: full[0].clone(),
        source: e,
    })?;
    forwarding.child(child.id());
    let sampler = Sampler::start(t0, Some(child.id()));
    let mut ingest = Ingest::new();
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1);
    let header = serde_json::json!({ "command": cmd, "started_at": started_at, "cpus": cpus });
    let emit = |ingest: &mut Ingest, log: &mut BufWriter<std::fs::File>, line: String| {
        ingest.line(&line);
        writeln!(log, "{line}")
    };
    emit(&mut ingest, &mut log, format!("0 @nixperf {header}")).map_err(io)?;
    let mut view = LiveView {
        names: FxHashMap::default(),
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let mut reader = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut buf = Vec::with_capacity(4096);
    let mut last_flush = Instant::now();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        let t = t0.elapsed().as_nanos() as u64;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        let text = String::from_utf8_lossy(&buf);
        let line = if text.starts_with('@') {
            format!("{t} {text}")
        } else {
            text.into_owned()
        };
        if !quiet {
            view.line(&line, &mut err);
        }
        emit(&mut ingest, &mut log, line).map_err(io)?;
        // Keep the saved log at most ~0.2 s behind (tail-able, little lost if nixperf is
        // killed) without a write per line.
        if last_flush.elapsed() >= FLUSH_EVERY {
            log.flush().map_err(io)?;
            last_flush = Instant::now();
        }
    }
    // Wait for nix to exit without reaping it, so the sampler's last tick can still read its
    // counters (a zombie keeps them); then reap.
    // SAFETY: a zeroed siginfo_t is a valid out parameter; the pid is our child.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            child.id(),
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
    }
    let end = t0.elapsed().as_nanos() as u64;
    let sampled = sampler.finish();
    let status = child.wait().map_err(io)?;
    drop(forwarding);
    for b in build_cpu_lines(ingest.derivations(), &sampled.builds) {
        let line = serde_json::json!({ "build_cpu": b });
        emit(&mut ingest, &mut log, format!("{end} @nixperf {line}")).map_err(io)?;
    }
    if !sampled.builds.is_empty() || sampled.unattributed_cpu_ns > 0 {
        let line = serde_json::json!({ "unattributed_cpu_ns": sampled.unattributed_cpu_ns });
        emit(&mut ingest, &mut log, format!("{end} @nixperf {line}")).map_err(io)?;
    }
    let (code, sig) = (status.code(), status.signal());
    let trailer = serde_json::json!({ "exit_code": code, "signal": sig });
    emit(&mut ingest, &mut log, format!("{end} @nixperf {trailer}")).map_err(io)?;
    log.flush().map_err(io)?;
    let mut p = ingest.finish(Some(end), Some((code, sig)));
    p.samples = sampled.samples;
    p.sampler_cpu_ns = sampled.cpu_ns;
    Ok(p)
}

/// Ties each measured build (known by its output paths) to the derivation that has those
/// outputs (read from the `.drv` files, present since nix just built them).
fn build_cpu_lines(drvs: &[super::model::Derivation], builds: &[BuildCpu]) -> Vec<BuildCpuLine> {
    let mut by_output: FxHashMap<&str, &BuildCpu> = FxHashMap::default();
    for b in builds {
        for o in &b.outputs {
            by_output.insert(o, b);
        }
    }
    let mut out = Vec::new();
    for d in drvs {
        let Ok(text) = std::fs::read_to_string(&d.drv_path) else {
            continue;
        };
        let outputs = super::graph::parse_outputs(&text).unwrap_or_default();
        if let Some(b) = outputs.iter().find_map(|o| by_output.get(o.as_str())) {
            out.push(BuildCpuLine {
                drv: d.drv_path.clone(),
                cpu_ns: b.cpu_ns,
                cores: b.cores,
                demand: b.demand(),
                active_share: b.active_share(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn flags_go_where_nix_reads_them() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_log_flags(&v(&["nix", "build", "--", "x"])),
            v(&[
                "nix",
                "--log-format",
                "internal-json",
                "-v",
                "build",
                "--",
                "x"
            ])
        );
        assert_eq!(
            with_log_flags(&v(&["/usr/bin/nix-build", "a.nix"]))[1],
            "--log-format"
        );
        assert_eq!(
            with_log_flags(&v(&["nixos-rebuild", "build"])),
            v(&[
                "nixos-rebuild",
                "build",
                "--log-format",
                "internal-json",
                "-v"
            ])
        );
    }
}
