//! `herd-sim explore`: the explorer's command line.

use std::ops::Range;
use std::path::PathBuf;

use clap::Args;
use herd::bugs::Bug;

use super::{explore, Config};
use crate::world::herd_config::sim_herd;

/// Exit code for bad usage or a bad `--herd` file.
pub const EXIT_USAGE: u8 = 3;

#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Seeds to run, `A..B` (B excluded) or one seed `A`.
    #[arg(long, required_unless_present = "list_bugs", value_parser = parse_seeds)]
    pub seeds: Option<Range<u64>>,
    /// A herd config file to explore (its topology and tuning) instead of
    /// a herd drawn for each seed.
    #[arg(long)]
    pub herd: Option<PathBuf>,
    /// Where failing and shrunk scenarios are written.
    #[arg(long, default_value = "target/explore")]
    pub out: PathBuf,
    /// Switch on one bug of the catalogue (see --list-bugs).
    #[arg(long)]
    pub bug: Option<Bug>,
    /// Print the catalogue's bug names, one a line.
    #[arg(long)]
    pub list_bugs: bool,
    /// Run only slice i of n (1-based) of the seeds: seeds whose offset
    /// from A is i-1 modulo n.
    #[arg(long, value_parser = parse_shard, default_value = "1/1")]
    pub shard: (u64, u64),
    /// Go on after the first failing seed (each is written and shrunk).
    #[arg(long)]
    pub keep_going: bool,
    /// Most simulation runs one shrink may spend.
    #[arg(long, default_value_t = 400)]
    pub shrink_runs: usize,
    /// Print every seed's parameters, not only failing ones.
    #[arg(long)]
    pub verbose: bool,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Write every seed's result to this file (JSON).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn parse_seeds(text: &str) -> Result<Range<u64>, String> {
    let bad = || format!("{text:?} is not A..B or A");
    let range = match text.split_once("..") {
        Some((a, b)) => a.parse().map_err(|_| bad())?..b.parse().map_err(|_| bad())?,
        None => {
            let a: u64 = text.parse().map_err(|_| bad())?;
            a..a.checked_add(1).ok_or_else(bad)?
        }
    };
    if range.is_empty() {
        return Err(format!("{text:?} holds no seeds"));
    }
    Ok(range)
}

pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{text:?} is not i/n with 1 <= i <= n");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

impl ExploreArgs {
    /// Runs the command; the process exit code.
    pub fn run(self) -> u8 {
        if self.list_bugs {
            for bug in Bug::ALL {
                println!("{bug}");
            }
            return 0;
        }
        let herd_table = match &self.herd {
            Some(path) => match std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| t.parse::<toml::Table>().map_err(|e| e.to_string()))
            {
                Ok(table) => Some(table),
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return EXIT_USAGE;
                }
            },
            None => None,
        };
        let herd = match herd_table.map(|table| sim_herd(Some(table.clone()), None).map(|h| (h, Some(table))))
        {
            None => None,
            Some(Ok(herd)) => Some(herd),
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        };
        let config = Config {
            seeds: self.seeds.unwrap_or(0..1),
            shard: self.shard,
            herd,
            out: self.out,
            bug: self.bug,
            keep_going: self.keep_going,
            shrink_runs: self.shrink_runs,
            verbose: self.verbose,
            progress: !self.quiet,
        };
        let mut stdout = std::io::stdout();
        let summary = match explore(&config, &mut stdout) {
            Ok(summary) => summary,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        };
        if let Some(path) = &self.json {
            let command = crate::report::command::Invocation::current().command_line();
            let json = serde_json::json!({ "command": command, "seeds": summary.results });
            let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_USAGE;
            }
        }
        summary.exit_code()
    }
}
