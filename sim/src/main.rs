//! `herd-sim`: the simulator's command line. `run` runs scenario files,
//! `explore` turns seeds into random scenarios, `mutate` checks which bugs
//! of the catalogue a scenario catches. Exit codes: docs/scenarios.md and
//! docs/explorer.md.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use herd_sim::cli::mutate::MutateArgs;
use herd_sim::cli::run::RunArgs;
use herd_sim::cli::EXIT_USAGE;

#[derive(Parser)]
#[command(name = "herd-sim", version, about = "Deterministic simulator for the herd")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files; a folder means every *.toml in it, sorted.
    Run(RunArgs),
    /// Random scenarios from seeds, checked, and failing ones shrunk to
    /// small scenario files (docs/explorer.md).
    Explore(herd_sim::explore::cli::ExploreArgs),
    /// Runs scenarios under every bug of the catalogue and says which bugs
    /// each catches.
    Mutate(MutateArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    ExitCode::from(match cli.command {
        Command::Run(args) => args.execute(),
        Command::Explore(args) => args.run(),
        Command::Mutate(args) => args.execute(),
    })
}
