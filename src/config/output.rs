//! The recommendations as a nix.conf fragment and as NixOS `nix.settings` lines.

use super::Advice;

pub(crate) fn nix_conf(a: &Advice) -> String {
    let mut s = String::from("# nix.conf fragment from nixperf config\n");
    for r in &a.recommendations {
        if let Some(v) = &r.value {
            s += &format!("{} = {v}\n", r.setting);
        }
    }
    s
}

fn nix_value(v: &str) -> String {
    if v == "true" || v == "false" || v.parse::<u64>().is_ok() {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

pub(crate) fn nixos(a: &Advice) -> String {
    let mut s = String::from("# NixOS configuration.nix, from nixperf config\n");
    for r in &a.recommendations {
        if let Some(v) = &r.value {
            s += &format!("nix.settings.{} = {};\n", r.setting, nix_value(v));
        }
    }
    s
}
