//! The trail's files: the active file (`audit.log`) and the rotated ones beside it
//! (`audit.log.000000001234`, named by the sequence number of their last record), and reading
//! them back in chain order.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::integrity::SealedRecord;

/// The name a rotated file gets: the active file's name and its last record's sequence number.
pub fn rotated_path(active: &Path, last_sequence: u64) -> PathBuf {
    let mut name = active.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{last_sequence:012}"));
    active.with_file_name(name)
}

/// The rotated files of `active`, oldest first.
pub fn rotated_files(active: &Path) -> std::io::Result<Vec<PathBuf>> {
    let dir = parent_dir(active);
    let Some(base) = active.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{base}.");
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((number, entry.path()));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// `active` and its rotated files, oldest first: what `verify-audit` reads when given no file.
pub fn trail_files(active: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = rotated_files(active)?;
    if active.exists() {
        files.push(active.to_path_buf());
    }
    Ok(files)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// One line of a trail file, as read back.
pub struct Line {
    /// 1-based.
    pub number: usize,
    pub bytes: Vec<u8>,
    pub sealed: Result<SealedRecord, &'static str>,
}

/// A trail file read whole: its complete lines, and the bytes after the last newline (a write
/// cut short by a crash), if any.
pub struct TrailFile {
    pub path: PathBuf,
    pub lines: Vec<Line>,
    pub incomplete_tail: usize,
}

impl TrailFile {
    pub fn read(path: &Path) -> Result<TrailFile, AuditError> {
        let bytes = std::fs::read(path).map_err(|e| AuditError::io("reading", path, e))?;
        let mut lines = Vec::new();
        let mut rest = &bytes[..];
        let mut number = 0;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            number += 1;
            let line = &rest[..end];
            lines.push(Line {
                number,
                bytes: line.to_vec(),
                sealed: SealedRecord::parse(line),
            });
            rest = &rest[end + 1..];
        }
        Ok(TrailFile {
            path: path.to_path_buf(),
            lines,
            incomplete_tail: rest.len(),
        })
    }

    /// The sequence number of the file's first record, which orders files in the chain.
    pub fn first_sequence(&self) -> Option<u64> {
        self.lines
            .iter()
            .find_map(|line| line.sealed.as_ref().ok().map(|s| s.sequence))
    }
}

/// Reads `paths` and orders them as the chain runs (by their first record); files without any
/// record come last.
pub fn read_in_chain_order(paths: &[PathBuf]) -> Result<Vec<TrailFile>, AuditError> {
    let mut files = paths
        .iter()
        .map(|p| TrailFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    files.sort_by_key(|f| f.first_sequence().unwrap_or(u64::MAX));
    Ok(files)
}

/// The last complete line of `path`, and how many bytes follow it without a newline (a torn
/// write). Reads backwards from the end, so a large file costs one line.
pub(crate) fn last_line(path: &Path) -> std::io::Result<(Option<Vec<u8>>, u64)> {
    /// Far beyond any record (a request body is at most 1 MiB): a longer "line" is not a trail.
    const MAX_LINE: usize = 64 * 1024 * 1024;
    const CHUNK: u64 = 64 * 1024;
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = len;
    while pos > 0 {
        let size = CHUNK.min(pos);
        pos -= size;
        let mut chunk = vec![0u8; size as usize];
        file.read_exact_at(&mut chunk, pos)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        if let Some(end) = tail.iter().rposition(|&b| b == b'\n') {
            let torn = (tail.len() - end - 1) as u64;
            if let Some(start) = tail[..end].iter().rposition(|&b| b == b'\n') {
                return Ok((Some(tail[start + 1..end].to_vec()), torn));
            }
            if pos == 0 {
                return Ok((Some(tail[..end].to_vec()), torn));
            }
        }
        if tail.len() > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "its last line is longer than any audit record",
            ));
        }
    }
    Ok((None, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_are_found_in_sequence_order() {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("audit.log");
        for n in [30u64, 4, 1200] {
            std::fs::write(rotated_path(&active, n), b"").unwrap();
        }
        for other in [
            "audit.log.x",
            "audit.log.",
            "audit.logs.1",
            ".audit.log.lock",
            "other.1",
        ] {
            std::fs::write(dir.path().join(other), b"").unwrap();
        }
        let names: Vec<String> = rotated_files(&active)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "audit.log.000000000004",
                "audit.log.000000000030",
                "audit.log.000000001200"
            ]
        );
        assert_eq!(trail_files(&active).unwrap().len(), 3);
        std::fs::write(&active, b"").unwrap();
        assert_eq!(trail_files(&active).unwrap().last(), Some(&active));
    }

    #[test]
    fn the_last_line_and_a_torn_tail_are_found_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        type Case<'a> = (&'a [u8], Option<&'a [u8]>, u64);
        let cases: [Case; 6] = [
            (b"", None, 0),
            (b"partial", None, 7),
            (b"one\n", Some(b"one"), 0),
            (b"one\ntwo\n", Some(b"two"), 0),
            (b"one\ntwo\nhalf", Some(b"two"), 4),
            (b"\n", Some(b""), 0),
        ];
        for (content, line, torn) in cases {
            std::fs::write(&path, content).unwrap();
            let (got, got_torn) = last_line(&path).unwrap();
            assert_eq!(got.as_deref(), line, "{content:?}");
            assert_eq!(got_torn, torn, "{content:?}");
        }
        // A last line longer than one read chunk.
        let long = vec![b'x'; 200_000];
        let mut content = b"first\n".to_vec();
        content.extend_from_slice(&long);
        content.extend_from_slice(b"\ntail");
        std::fs::write(&path, &content).unwrap();
        let (got, torn) = last_line(&path).unwrap();
        assert_eq!((got.unwrap().len(), torn), (200_000, 4));
    }
}
