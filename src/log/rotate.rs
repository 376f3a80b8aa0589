//! The log file on disk. `file-rotate` renames and prunes the rotated
//! files (`<server>.log.1` is the newest); we decide when, so a file is
//! cut between lines and never grows past `max_file_bytes`. Its own byte
//! limits cut mid-line (`Bytes`) or past the limit by a whole batch
//! (`BytesSurpassed`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};

/// Where the writer thread puts batches of whole lines.
pub(crate) trait Sink: Send + 'static {
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()>;
}

pub(crate) struct RotatingFile {
    file: FileRotate<AppendCount>,
    /// Bytes in the live file.
    written_bytes: u64,
    max_file_bytes: u64,
}

impl RotatingFile {
    /// Appends to `path` (a restarted server continues its file), keeping
    /// at most `max_files` rotated files besides it.
    pub(crate) fn open(path: &Path, max_file_bytes: u64, max_files: usize) -> io::Result<Self> {
        // file-rotate ignores a failure to open; opening once here reports
        // one (no permission, a directory in the way) when the server starts.
        let existing = OpenOptions::new().create(true).append(true).open(path)?;
        let written_bytes = existing.metadata()?.len();
        drop(existing);
        let file = FileRotate::new(
            path,
            AppendCount::new(max_files),
            ContentLimit::None,
            Compression::None,
            None,
        );
        Ok(Self {
            file,
            written_bytes,
            max_file_bytes: max_file_bytes.max(1),
        })
    }
}

impl Sink for RotatingFile {
    /// Writes the lines that fit in the live file, rotates, and goes on. A
    /// single line longer than a whole file gets a file of its own.
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
        let mut rest = batch;
        while !rest.is_empty() {
            let room = self.max_file_bytes.saturating_sub(self.written_bytes);
            let fits = if rest.len() as u64 <= room {
                rest.len()
            } else {
                let room = room as usize;
                rest[..room]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
            };
            let take = match fits {
                0 if self.written_bytes > 0 => {
                    self.file.rotate()?;
                    self.written_bytes = 0;
                    continue;
                }
                0 => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
                fits => fits,
            };
            self.file.write_all(&rest[..take])?;
            self.written_bytes += take as u64;
            rest = &rest[take..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("herd-rotate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn files_are_cut_between_lines_and_never_past_the_limit() {
        let dir = scratch("cut");
        let path = dir.join("S.log");
        let mut file = RotatingFile::open(&path, 10, 9).unwrap();
        file.write_batch(b"aaaa\nbbbb\ncccc\n").unwrap();
        file.write_batch(b"dd\nthis line is longer than a file\ne\n")
            .unwrap();
        assert_eq!(read(&dir.join("S.log.3")), "aaaa\nbbbb\n");
        assert_eq!(read(&dir.join("S.log.2")), "cccc\ndd\n");
        assert_eq!(read(&dir.join("S.log.1")), "this line is longer than a file\n");
        assert_eq!(read(&path), "e\n");
    }

    #[test]
    fn only_max_files_rotated_files_are_kept_and_a_restart_appends() {
        let dir = scratch("keep");
        let path = dir.join("S.log");
        let mut file = RotatingFile::open(&path, 4, 2).unwrap();
        file.write_batch(b"1\n2\n3\n4\n5\n").unwrap();
        drop(file);
        let mut file = RotatingFile::open(&path, 4, 2).unwrap();
        file.write_batch(b"6\n").unwrap();
        assert_eq!(read(&dir.join("S.log.2")), "1\n2\n");
        assert_eq!(read(&dir.join("S.log.1")), "3\n4\n");
        assert_eq!(read(&path), "5\n6\n");
        file.write_batch(b"7\n").unwrap();
        assert_eq!(read(&dir.join("S.log.2")), "3\n4\n");
        assert!(!dir.join("S.log.3").exists());
        assert_eq!(read(&path), "7\n");
    }
}
