//! narinfo signatures: `keyname:base64(ed25519 signature)` over the fingerprint
//! `1;<store path>;<nar hash>;<nar size>;<comma-separated reference paths>`, checked against
//! `trusted-public-keys` entries `keyname:base64(public key)`.

use super::narinfo::NarInfo;
use base64::Engine;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SigStatus {
    /// At least one signature by a trusted key verifies.
    Trusted,
    /// Signed, but by no key in `trusted-public-keys`.
    UntrustedKey,
    /// A trusted key name, but the signature does not verify.
    BadSignature,
    Unsigned,
}

pub(crate) struct TrustedKeys(BTreeMap<String, Vec<u8>>);

impl TrustedKeys {
    pub(crate) fn parse(keys: &[String]) -> TrustedKeys {
        let mut m = BTreeMap::new();
        for k in keys {
            if let Some((name, b64)) = k.split_once(':')
                && let Ok(pk) = base64::engine::general_purpose::STANDARD.decode(b64)
            {
                m.insert(name.to_owned(), pk);
            }
        }
        TrustedKeys(m)
    }
    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

pub(crate) fn fingerprint(n: &NarInfo, store_dir: &str) -> String {
    let refs: Vec<String> = n
        .references
        .iter()
        .map(|r| format!("{store_dir}/{r}"))
        .collect();
    format!(
        "1;{};{};{};{}",
        n.store_path,
        n.nar_hash,
        n.nar_size,
        refs.join(",")
    )
}

pub(crate) fn key_name(sig: &str) -> &str {
    sig.split_once(':').map(|s| s.0).unwrap_or(sig)
}

pub(crate) fn check(n: &NarInfo, store_dir: &str, keys: &TrustedKeys) -> SigStatus {
    if n.sigs.is_empty() {
        return SigStatus::Unsigned;
    }
    let fp = fingerprint(n, store_dir);
    let mut trusted_name = false;
    for s in &n.sigs {
        let Some((name, b64)) = s.split_once(':') else {
            continue;
        };
        let Some(pk) = keys.0.get(name) else { continue };
        trusted_name = true;
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, pk);
        if key.verify(fp.as_bytes(), &sig).is_ok() {
            return SigStatus::Trusted;
        }
    }
    if trusted_name {
        SigStatus::BadSignature
    } else {
        SigStatus::UntrustedKey
    }
}
