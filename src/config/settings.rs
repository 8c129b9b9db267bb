//! The running Nix's effective settings: `nix show-config --json` (Nix ≥ 2.4; `nix config show`
//! on newer releases), i.e. nix.conf files, `NIX_CONFIG` and defaults merged by Nix itself.

use super::ConfigError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

#[derive(Debug, Clone, Default)]
pub(crate) struct NixSettings {
    pub values: BTreeMap<String, Value>,
    /// Where the values came from (the command that printed them).
    pub source: String,
}

impl NixSettings {
    /// Asks `nix` for its effective configuration.
    pub(crate) fn load() -> Result<NixSettings, ConfigError> {
        let attempts: [&[&str]; 2] = [
            &[
                "--extra-experimental-features",
                "nix-command",
                "show-config",
                "--json",
            ],
            &[
                "--extra-experimental-features",
                "nix-command",
                "config",
                "show",
                "--json",
            ],
        ];
        let mut last = String::new();
        for args in attempts {
            let out = match Command::new("nix").args(args).output() {
                Ok(o) => o,
                Err(e) => return Err(ConfigError::NoNix(e.to_string())),
            };
            if out.status.success() {
                return Self::parse(&out.stdout, &format!("nix {}", args[2..].join(" ")));
            }
            last = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        }
        Err(ConfigError::NixFailed(last))
    }

    /// Parses `show-config --json` output: `{"name": {"value": …, …}, …}` (older releases
    /// printed bare values; both are accepted).
    pub(crate) fn parse(json: &[u8], source: &str) -> Result<NixSettings, ConfigError> {
        let v: BTreeMap<String, Value> =
            serde_json::from_slice(json).map_err(|e| ConfigError::BadJson(e.to_string()))?;
        let values = v
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Object(mut o) if o.contains_key("value") => o.remove("value").unwrap(),
                    other => other,
                };
                (k, v)
            })
            .collect();
        Ok(NixSettings {
            values,
            source: source.to_owned(),
        })
    }

    pub(crate) fn get(&self, k: &str) -> Option<&Value> {
        self.values.get(k)
    }

    pub(crate) fn bool(&self, k: &str) -> Option<bool> {
        match self.get(k)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn u64(&self, k: &str) -> Option<u64> {
        match self.get(k)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A setting as nix.conf would spell it.
    pub(crate) fn text(&self, k: &str) -> Option<String> {
        Some(match self.get(k)? {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        })
    }

    pub(crate) fn list(&self, k: &str) -> Vec<String> {
        match self.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }
}
