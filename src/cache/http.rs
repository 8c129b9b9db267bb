//! GET over HTTP(S) (ureq, blocking) or `file://`, timed; outcomes the prober counts.

use std::io::Read;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fetch {
    Ok {
        body: Vec<u8>,
        secs: f64,
    },
    /// 404/403 (binary caches answer a missing narinfo with either) or a missing file.
    Missing {
        secs: f64,
    },
    Status {
        code: u16,
        secs: f64,
    },
    Timeout,
    Failed(String),
}

#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Client {
    pub(crate) fn new(timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent("nixperf")
            .build()
            .into();
        Client { agent, timeout }
    }

    /// Whole body (at most `limit` bytes kept; the rest is read and counted, not stored), given
    /// up at `deadline` (the request's timeout is the shorter of the client's and what is left).
    pub(crate) fn get_until(&self, url: &str, limit: u64, deadline: Option<Instant>) -> Fetch {
        self.get_counted_until(url, limit, deadline).0
    }

    pub(crate) fn get_counted_until(
        &self,
        url: &str,
        max_read: u64,
        deadline: Option<Instant>,
    ) -> (Fetch, u64) {
        let t = Instant::now();
        let left = deadline.map(|d| d.saturating_duration_since(t));
        if left == Some(Duration::ZERO) {
            return (Fetch::Timeout, 0);
        }
        if let Some(path) = url.strip_prefix("file://") {
            return match std::fs::File::open(path) {
                Ok(f) => {
                    let mut body = Vec::new();
                    match f.take(max_read).read_to_end(&mut body) {
                        Ok(n) => (
                            Fetch::Ok {
                                body,
                                secs: t.elapsed().as_secs_f64(),
                            },
                            n as u64,
                        ),
                        Err(e) => (Fetch::Failed(e.to_string()), 0),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                    Fetch::Missing {
                        secs: t.elapsed().as_secs_f64(),
                    },
                    0,
                ),
                Err(e) => (Fetch::Failed(e.to_string()), 0),
            };
        }
        let req = self.agent.get(url);
        let call = match left {
            Some(left) if left < self.timeout => {
                req.config().timeout_global(Some(left)).build().call()
            }
            _ => req.call(),
        };
        let mut resp = match call {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => return (Fetch::Timeout, 0),
            Err(e) => return (Fetch::Failed(e.to_string()), 0),
        };
        let code = resp.status().as_u16();
        if code == 404 || code == 403 {
            return (
                Fetch::Missing {
                    secs: t.elapsed().as_secs_f64(),
                },
                0,
            );
        }
        if code != 200 {
            return (
                Fetch::Status {
                    code,
                    secs: t.elapsed().as_secs_f64(),
                },
                0,
            );
        }
        let mut body = Vec::new();
        let r = resp
            .body_mut()
            .with_config()
            .limit(max_read)
            .reader()
            .take(max_read)
            .read_to_end(&mut body);
        match r {
            Ok(n) => (
                Fetch::Ok {
                    body,
                    secs: t.elapsed().as_secs_f64(),
                },
                n as u64,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => (Fetch::Timeout, 0),
            Err(e) if e.to_string().contains("limit") => (
                // The body is larger than we wanted to read: what we have is enough.
                Fetch::Ok {
                    secs: t.elapsed().as_secs_f64(),
                    body,
                },
                max_read,
            ),
            Err(e) => (Fetch::Failed(e.to_string()), 0),
        }
    }
}
