//! The folder a `run` command leaves its results in, in the manner of
//! Maelstrom's `store/`: `--out DIR`, or by default the next numbered
//! folder under `target/herd-sim/`, with `target/herd-sim/latest` linking
//! to it. It holds `stats.json` (every run) and, per run, the trace, the
//! space-time diagram and the propagation plot, each starting with the
//! command that made it.

use std::io;
use std::path::{Path, PathBuf};

use crate::observe::diagram::xml;

/// Where numbered result folders go unless `--out` says.
pub const DEFAULT_ROOT: &str = "target/herd-sim";
/// Numbered folders kept under the default root; older ones are removed,
/// so that a day of runs does not fill the disk.
pub const KEEP: usize = 20;
/// With more runs than this in one command, per-run files are written for
/// failing runs only.
pub const ALL_FILES_UP_TO: u64 = 50;

pub struct Results {
    dir: PathBuf,
    command: String,
}

impl Results {
    /// `out` as given, or the next numbered folder under `root`.
    pub fn create(out: Option<&Path>, root: &Path, command: String) -> io::Result<Self> {
        let dir = match out {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                dir.to_path_buf()
            }
            None => numbered(root)?,
        };
        Ok(Self { dir, command })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `name` in the folder; `text` is a trace (`#` comments), an
    /// SVG or JSON, and the command is put at its top accordingly.
    pub fn write(&self, name: &str, text: &str) -> io::Result<PathBuf> {
        let path = self.dir.join(name);
        let headed = match Path::new(name).extension().and_then(|e| e.to_str()) {
            Some("svg") => svg_with_command(text, &self.command),
            Some("txt") => format!("# {}\n{text}", self.command),
            _ => text.to_string(),
        };
        std::fs::write(&path, headed)?;
        Ok(path)
    }
}

/// The SVG with the command as its `<metadata>`, right after the `<svg>`
/// tag (an XML comment may not hold the `--` of a flag).
pub fn svg_with_command(svg: &str, command: &str) -> String {
    let end = svg.find('>').map_or(0, |i| i + 1);
    let (head, rest) = svg.split_at(end);
    format!("{head}\n<metadata>{}</metadata>{rest}", xml(command))
}

/// The next numbered folder under `root`, linked as `root/latest`; the
/// oldest beyond `KEEP` are removed.
fn numbered(root: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    let mut taken: Vec<u64> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    taken.sort_unstable();
    let next = taken.last().map_or(1, |n| n + 1);
    let dir = root.join(next.to_string());
    std::fs::create_dir(&dir)?;
    taken.push(next);
    let excess = taken.len().saturating_sub(KEEP);
    for old in &taken[..excess] {
        std::fs::remove_dir_all(root.join(old.to_string()))?;
    }
    let latest = root.join("latest");
    let _ = std::fs::remove_file(&latest);
    #[cfg(unix)]
    std::os::unix::fs::symlink(next.to_string(), &latest)?;
    Ok(dir)
}

/// The base name of one run's files: `<scenario>`, or `<scenario>.<seed>`
/// when a scenario runs more than once.
pub fn base_name(scenario: &str, seed: u64, one_seed: bool) -> String {
    if one_seed {
        scenario.to_string()
    } else {
        format!("{scenario}.{seed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_numbered_linked_and_bounded() {
        let root = std::env::temp_dir().join(format!("herd-sim-results-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for _ in 0..KEEP + 2 {
            Results::create(None, &root, "herd-sim run x".into()).expect("a folder");
        }
        let latest = std::fs::read_link(root.join("latest")).expect("a link");
        assert_eq!(latest, PathBuf::from((KEEP + 2).to_string()));
        let kept = std::fs::read_dir(&root).expect("root").count();
        assert_eq!(kept, KEEP + 1, "{KEEP} folders and the link");
        assert!(!root.join("1").exists() && !root.join("2").exists() && root.join("3").exists());
        let results = Results::create(None, &root, "herd-sim run x --seed 3".into()).expect("a folder");
        let trace = results
            .write("x.trace.txt", "   0.000s sim seed\n")
            .expect("written");
        let text = std::fs::read_to_string(trace).expect("read");
        assert_eq!(text, "# herd-sim run x --seed 3\n   0.000s sim seed\n");
        std::fs::remove_dir_all(&root).expect("cleaned up");
    }

    #[test]
    fn an_svg_carries_the_command_in_its_metadata() {
        let svg = svg_with_command("<svg a=\"1\">\n<g/>\n</svg>\n", "herd-sim run a<b --seed 1");
        assert_eq!(
            svg,
            "<svg a=\"1\">\n<metadata>herd-sim run a&lt;b --seed 1</metadata>\n<g/>\n</svg>\n"
        );
    }
}
