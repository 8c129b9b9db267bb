//! The NAR hash of a single store file, as `nix-store --optimise` names `.links` entries:
//! SHA-256 over the NAR serialisation (which includes the executable bit, and for a symlink its
//! target), printed in Nix's base-32.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub(crate) const BASE32_CHARS: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Nix's base-32 (least significant 5-bit group printed last, no padding).
pub(crate) fn base32(hash: &[u8]) -> String {
    let len = (hash.len() * 8 - 1) / 5 + 1;
    let mut s = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let (i, j) = (b / 8, b % 8);
        let lo = (hash[i] as u16) >> j;
        let hi = if i + 1 < hash.len() {
            (hash[i + 1] as u16) << (8 - j)
        } else {
            0
        };
        s.push(BASE32_CHARS[((lo | hi) & 0x1f) as usize] as char);
    }
    s
}

fn put_str(h: &mut Sha256, s: &[u8]) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s);
    let pad = (8 - s.len() % 8) % 8;
    h.update(&[0u8; 8][..pad]);
}

/// NAR hash (base-32) of a regular file or symlink; `None` for other file types.
pub(crate) fn file_nar_hash(
    path: &Path,
    meta: &std::fs::Metadata,
) -> std::io::Result<Option<String>> {
    let mut h = Sha256::new();
    put_str(&mut h, b"nix-archive-1");
    put_str(&mut h, b"(");
    put_str(&mut h, b"type");
    let ft = meta.file_type();
    if ft.is_symlink() {
        let t = std::fs::read_link(path)?;
        put_str(&mut h, b"symlink");
        put_str(&mut h, b"target");
        put_str(&mut h, t.as_os_str().as_encoded_bytes());
    } else if ft.is_file() {
        put_str(&mut h, b"regular");
        if meta.permissions().mode() & 0o100 != 0 {
            put_str(&mut h, b"executable");
            put_str(&mut h, b"");
        }
        put_str(&mut h, b"contents");
        let len = meta.len();
        h.update(len.to_le_bytes());
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 16];
        let mut done = 0u64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            done += n as u64;
        }
        if done != len {
            return Err(std::io::Error::other("file changed while hashing"));
        }
        let pad = ((8 - len % 8) % 8) as usize;
        h.update(&[0u8; 8][..pad]);
    } else {
        return Ok(None);
    }
    put_str(&mut h, b")");
    Ok(Some(base32(&h.finalize())))
}
