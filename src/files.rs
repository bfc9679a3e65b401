//! Reading files found on disk: never more than a bound, so that a link to `/dev/zero`, a huge
//! file or a growing one cannot exhaust the memory.

use std::io::Read;
use std::path::Path;

/// What [`read_bounded`] found.
pub enum Bounded {
    /// The whole file, within the limit.
    Bytes(Vec<u8>),
    /// The file is larger than the limit: its size when it is a regular file (not a device
    /// or a pipe), and the beginning of its first line (lossy, at most 200 bytes) so a
    /// diagnostic can show where it is.
    TooLarge {
        size: Option<u64>,
        first_line: String,
    },
}

/// Reads at most `limit` bytes of `path` (never more, even from a device or a growing file).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Bounded> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 <= limit {
        return Ok(Bounded::Bytes(bytes));
    }
    let size = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len().max(limit + 1));
    let head = &bytes[..bytes.len().min(200)];
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(Bounded::TooLarge {
        size,
        first_line: String::from_utf8_lossy(line).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'#'; 100]).unwrap();
        assert!(matches!(read_bounded(&path, 100).unwrap(), Bounded::Bytes(b) if b.len() == 100));
        assert!(matches!(
            read_bounded(&path, 99).unwrap(),
            Bounded::TooLarge {
                size: Some(100),
                ..
            }
        ));
        // A device that never ends is cut at the limit.
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 1000).unwrap(),
                Bounded::TooLarge { size: None, .. }
            ));
        }
    }
}
