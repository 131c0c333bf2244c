//! A logstream's journal (Heka's seek file): where reading resumes after a restart.
//!
//! The format is Heka's, so a user who moves from Heka resumes where Heka stopped:
//! `{"seek":1969,"file_name":"/var/log/nginx/error.log","last_hash":"7278…"}`, where `seek` is
//! the byte offset (in the decompressed stream for gzip files) up to which records are done and
//! `last_hash` the lowercase hex SHA-1 of the 500 bytes before `seek`, left-padded with NUL
//! bytes when fewer precede it.
//!
//! Unlike Heka, the journal is written to a temporary file and renamed over the old one, so a
//! crash in the middle of a save leaves the previous position, not an empty file.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// How many bytes before `seek` the hash covers.
pub(crate) const HASH_WINDOW: usize = 500;

/// A position in a logstream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Offset in `file_name` up to which records are done.
    #[serde(default)]
    pub seek: u64,
    /// The file the position is in; empty for "no position".
    #[serde(default)]
    pub file_name: String,
    /// SHA-1 of the 500 bytes (`HASH_WINDOW`) before `seek` (see the module docs).
    #[serde(default)]
    pub last_hash: String,
}

impl Position {
    /// Whether this is "no position" (Heka's empty journal).
    pub fn is_empty(&self) -> bool {
        self.seek == 0 && self.file_name.is_empty() && self.last_hash.is_empty()
    }
}

/// The hash of the bytes before a position: the last [`HASH_WINDOW`] bytes of `before`,
/// left-padded with NUL bytes.
pub(crate) fn hash_before(before: &[u8]) -> String {
    let tail = &before[before.len().saturating_sub(HASH_WINDOW)..];
    let mut h = Sha1::new();
    h.update(&[0u8; HASH_WINDOW][..HASH_WINDOW - tail.len()]);
    h.update(tail);
    h.finalize()
        .iter()
        .fold(String::with_capacity(40), |mut out, b| {
            use std::fmt::Write;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Reads a journal. A missing, empty or blank file is "no position"; anything else that is not
/// a journal is an error.
pub(crate) fn load(path: &Path) -> Result<Position, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Position::default()),
        Err(e) => return Err(format!("journal {}: {e}", path.display())),
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Position::default());
    }
    serde_json::from_slice(&text).map_err(|e| format!("journal {}: {e}", path.display()))
}

/// Writes a journal atomically (temporary file, then rename), mode 0660 as Heka.
pub(crate) fn save(path: &Path, pos: &Position) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let json = serde_json::to_vec(pos).map_err(std::io::Error::other)?;
    let mut f = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o660)
        .open(&tmp)?;
    f.write_all(&json)?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_pad_with_nul_bytes_and_cover_the_last_500() {
        // Heka's hash of an empty position: 500 NUL bytes.
        assert_eq!(hash_before(b""), "fc56d4b3c72a8bfe593373c740d558ec1340ac73");
        // Vectors computed with Python's hashlib.
        assert_eq!(
            hash_before(b"line one\nline two\n"),
            "a07ce644755b430ba8a98fc269464ca132ea50a1"
        );
        let long: Vec<u8> = (0..3).flat_map(|_| 0..=255u8).collect();
        assert_eq!(
            hash_before(&long),
            "3b9afef12a2a90641bb442a08dc8dea6a360e2c3"
        );
    }

    #[test]
    fn journals_round_trip_in_heka_key_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("access");
        assert_eq!(load(&path), Ok(Position::default()));
        let pos = Position {
            seek: 1969,
            file_name: "/var/log/nginx/error.log".into(),
            last_hash: "72781af95a1583690cc97548fdcf3bb0efbe3119".into(),
        };
        save(&path, &pos).expect("save");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            r#"{"seek":1969,"file_name":"/var/log/nginx/error.log","last_hash":"72781af95a1583690cc97548fdcf3bb0efbe3119"}"#
        );
        assert_eq!(load(&path), Ok(pos.clone()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777 & !0o022, 0o660 & !0o022);
        // Another key order, as in Heka's own test fixture, reads the same.
        std::fs::write(
            &path,
            r#"{"file_name":"/var/log/nginx/error.log","last_hash":"72781af95a1583690cc97548fdcf3bb0efbe3119","seek":1969}"#,
        )
        .expect("write");
        assert_eq!(load(&path), Ok(pos));
        std::fs::write(&path, " \n").expect("write");
        assert_eq!(load(&path), Ok(Position::default()));
        std::fs::write(&path, "{seek").expect("write");
        assert!(load(&path).is_err());
    }
}
