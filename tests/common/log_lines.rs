//! Reading log files back the way an operator's tool would, written from
//! the documented format (docs/protocol.md, "Log files"), not from the
//! code that writes them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One line: `STAMP LEVEL KIND key=value ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub stamp: String,
    pub level: String,
    pub kind: String,
    /// Values unescaped, quoted or not.
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Parsed {
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    pub fn text(&self, key: &str) -> String {
        String::from_utf8_lossy(self.get(key).unwrap_or_default()).into_owned()
    }

    pub fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Splits a line into its parts; panics, naming the line, if it is not in
/// the documented format.
pub fn parse(line: &str) -> Parsed {
    let bad = |why: &str| -> ! { panic!("{why} in log line {line:?}") };
    if !line.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        bad("a byte that is not printable ASCII");
    }
    let (stamp, rest) = line.split_once(' ').unwrap_or_else(|| bad("no level"));
    // The level is padded to five characters.
    let rest = rest.trim_start();
    let (level, rest) = rest.split_once(' ').unwrap_or_else(|| bad("no kind"));
    let (kind, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if stamp.len() != 27 || !stamp.ends_with('Z') || stamp.as_bytes()[10] != b'T' {
        bad("no RFC 3339 UTC timestamp with microseconds");
    }
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap_or_else(|| bad("a field without ="));
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            bad("a bad field name");
        }
        let (raw, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = closing_quote(quoted).unwrap_or_else(|| bad("an unclosed quote"));
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_at(after.find(' ').unwrap_or(after.len()))
        };
        let rest_after = match after.strip_prefix(' ') {
            Some(a) => a,
            None if after.is_empty() => after,
            None => bad("no space after a value"),
        };
        fields.push((key.to_string(), unescape(raw)));
        rest = rest_after;
    }
    Parsed {
        stamp: stamp.to_string(),
        level: level.to_string(),
        kind: kind.to_string(),
        fields,
    }
}

/// The index of the first `"` not escaped by a backslash.
fn closing_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'"') => out.push(b'"'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4).expect("two hex digits after \\x");
                out.push(u8::from_str_radix(hex, 16).expect("hex digits"));
                i += 2;
            }
            other => panic!("unknown escape \\{other:?} in {text:?}"),
        }
        i += 2;
    }
    out
}

/// The live file and the rotated ones of `server`, oldest first.
pub fn files(dir: &Path, server: &str) -> Vec<PathBuf> {
    let live = dir.join(format!("{server}.log"));
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix(&format!("{server}.log."))?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    rotated.sort();
    rotated.reverse();
    let mut all: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    all.push(live);
    all
}

/// Every line of `server`'s log, across its rotated files, oldest first.
/// Each file must end with a whole line.
pub fn lines(dir: &Path, server: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for path in files(dir, server) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends mid-line",
            path.display()
        );
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// What a herd's log files say happened, counted a line at a time (a bench's
/// logs may run to gigabytes), in the current format (`STAMP LEVEL kind
/// ...`) and in the one before it (`STAMP LEVEL kind="kind" ...`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub bytes: u64,
    pub lines: u64,
    /// `link_down`: a server lost or dropped its link to a neighbour.
    pub link_downs: u64,
    /// `feed_up`: a neighbour (or someone named as one) subscribed.
    pub feed_ups: u64,
    /// `refused`: a connection on a link port did not prove itself.
    pub refused: u64,
    /// `HERD AT` lines sent, and how many of them wanted no
    /// acknowledgement (`HERD AT - ...`).
    pub at_sent: u64,
    pub unnumbered: u64,
    /// `HERD DUMP` lines sent: catch-up entries, where a binary sends them so.
    pub dump_lines: u64,
    /// Catch-up dumps finished (`HERD SYNCED` sent), and the updates in them.
    pub dumps: u64,
    pub dumped: u64,
    /// IAMAT lines received from clients.
    pub iamats: u64,
}

impl Tally {
    /// Catch-up entries sent. Sent as `HERD DUMP` lines, they are those;
    /// sent as `HERD AT` lines, they are the unnumbered ones where floods
    /// carry a number (`ack = "herd"`), and otherwise known only from the
    /// counts of the dumps that finished (`HERD SYNCED <count>`).
    pub fn catch_up(&self, numbered_floods: bool) -> u64 {
        match (self.dump_lines, numbered_floods) {
            (0, true) => self.unnumbered,
            (0, false) => self.dumped,
            (lines, _) => lines,
        }
    }

    /// `HERD AT` lines sent that were floods, not catch-up.
    pub fn flooded(&self, numbered_floods: bool) -> u64 {
        match self.dump_lines {
            0 => self.at_sent.saturating_sub(self.catch_up(numbered_floods)),
            _ => self.at_sent,
        }
    }

    /// What happened since `before` was counted.
    pub fn since(&self, before: &Tally) -> Tally {
        Tally {
            bytes: self.bytes.saturating_sub(before.bytes),
            lines: self.lines.saturating_sub(before.lines),
            link_downs: self.link_downs.saturating_sub(before.link_downs),
            feed_ups: self.feed_ups.saturating_sub(before.feed_ups),
            refused: self.refused.saturating_sub(before.refused),
            at_sent: self.at_sent.saturating_sub(before.at_sent),
            unnumbered: self.unnumbered.saturating_sub(before.unnumbered),
            dump_lines: self.dump_lines.saturating_sub(before.dump_lines),
            dumps: self.dumps.saturating_sub(before.dumps),
            dumped: self.dumped.saturating_sub(before.dumped),
            iamats: self.iamats.saturating_sub(before.iamats),
        }
    }

    fn count(&mut self, line: &[u8]) {
        self.bytes += line.len() as u64;
        self.lines += 1;
        let text = String::from_utf8_lossy(line);
        // After the timestamp and the level.
        let Some(kind) = text.split_whitespace().nth(2) else {
            return;
        };
        let kind = kind
            .strip_prefix("kind=\"")
            .map_or(kind, |k| k.trim_end_matches('"'));
        match kind {
            "link_down" => self.link_downs += 1,
            "feed_up" => self.feed_ups += 1,
            "refused" => self.refused += 1,
            "recv" => self.iamats += u64::from(text.contains(" line=\"IAMAT ")),
            "send" => {
                if text.contains(" line=\"HERD AT ") {
                    self.at_sent += 1;
                    self.unnumbered += u64::from(text.contains(" line=\"HERD AT - "));
                } else if text.contains(" line=\"HERD DUMP ") {
                    self.dump_lines += 1;
                } else if let Some((_, after)) = text.split_once(" line=\"HERD SYNCED ") {
                    self.dumps += 1;
                    let count = after.trim_end().trim_end_matches('"');
                    self.dumped += count.parse::<u64>().unwrap_or(0);
                }
            }
            _ => {}
        }
    }
}

/// Calls `each` with every line of every log file in `dir`, rotated ones
/// included, one line in memory at a time.
fn each_line(dir: &Path, mut each: impl FnMut(&[u8])) {
    use std::io::BufRead;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            each(&line);
            line.clear();
        }
    }
}

/// Bytes in `dir`'s log files now, every server's, rotated ones included.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Counts every log file in `dir`.
pub fn tally(dir: &Path) -> Tally {
    let mut tally = Tally::default();
    each_line(dir, |line| tally.count(line));
    tally
}

/// When the first server whose log is in `dir` began to shut down, as its
/// log's timestamp. Timestamps are UTC at a fixed width, so they sort as
/// text, and a whole line sorts after its own timestamp.
pub fn first_shutdown(dir: &Path) -> Option<String> {
    let mut first: Option<String> = None;
    each_line(dir, |line| {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_whitespace();
        let stamp = words.next().unwrap_or_default();
        if matches!(words.nth(1), Some("shutdown" | "kind=\"shutdown\""))
            && first.as_deref().is_none_or(|f| stamp < f)
        {
            first = Some(stamp.to_string());
        }
    });
    first
}

/// Counts what the logs in `dir` say happened before the first server
/// began to shut down (links going down with a herd that stops are no news).
pub fn tally_before_shutdown(dir: &Path) -> Tally {
    let first = first_shutdown(dir);
    let mut tally = Tally::default();
    each_line(dir, |line| {
        if first.as_ref().is_none_or(|f| line < f.as_bytes()) {
            tally.count(line);
        }
    });
    tally
}
