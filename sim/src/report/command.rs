//! How this process was started, so that a reproduce line runs the same
//! binary the same way (`cargo run --release -p herd-sim --` after a cargo
//! release build, the binary's own path otherwise), and so that every file
//! a run writes can say which command made it.

use std::path::Path;

/// The program and its arguments as started.
#[derive(Debug, Clone)]
pub struct Invocation {
    program: String,
    args: Vec<String>,
}

impl Invocation {
    /// This process's invocation. `cargo run` is recognised by the
    /// variables cargo sets for the program it runs.
    pub fn current() -> Self {
        let mut argv = std::env::args();
        let argv0 = argv.next().unwrap_or_else(|| "herd-sim".to_string());
        let by_cargo = std::env::var_os("CARGO").is_some()
            && std::env::var("CARGO_PKG_NAME").is_ok_and(|p| p == "herd-sim");
        Self {
            program: program_for(&argv0, by_cargo),
            args: argv.collect(),
        }
    }

    /// What to type to run herd-sim again the same way, before the
    /// subcommand: `cargo run --release -p herd-sim --`, or the binary.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The whole command line, quoted for a POSIX shell.
    pub fn command_line(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| quote(a)).collect();
        format!("{} {}", self.program, args.join(" "))
            .trim_end()
            .to_string()
    }

    /// `program` followed by `words`, each quoted as needed.
    pub fn with(&self, words: &[&str]) -> String {
        let words: Vec<String> = words.iter().map(|w| quote(w)).collect();
        format!("{} {}", self.program, words.join(" "))
    }
}

/// One word for a POSIX shell.
pub fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| format!("{word:?}"), |q| q.into_owned())
}

/// The program part of a command: under `cargo run` (`by_cargo`), the
/// cargo command for the build profile the binary sits in
/// (`target/<profile>/herd-sim`); otherwise the path it was started by.
pub fn program_for(argv0: &str, by_cargo: bool) -> String {
    let profile = Path::new(argv0)
        .parent()
        .and_then(Path::file_name)
        .map(|p| p.to_string_lossy().into_owned());
    match profile.as_deref() {
        Some("debug") if by_cargo => "cargo run -p herd-sim --".to_string(),
        Some("release") if by_cargo => "cargo run --release -p herd-sim --".to_string(),
        Some(other) if by_cargo => format!("cargo run --profile {} -p herd-sim --", quote(other)),
        _ => quote(argv0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_mirrors_how_it_was_started() {
        let release = program_for("target/release/herd-sim", true);
        assert_eq!(release, "cargo run --release -p herd-sim --");
        assert_eq!(
            program_for("/w/target/debug/herd-sim", true),
            "cargo run -p herd-sim --"
        );
        assert_eq!(
            program_for("target/bench/herd-sim", true),
            "cargo run --profile bench -p herd-sim --"
        );
        // Started by hand, even from target/: that very binary.
        assert_eq!(
            program_for("./target/release/herd-sim", false),
            "./target/release/herd-sim"
        );
        assert_eq!(
            program_for("/opt/my tools/herd-sim", false),
            "'/opt/my tools/herd-sim'"
        );
        assert_eq!(program_for("herd-sim", true), "herd-sim");
    }

    #[test]
    fn command_lines_are_quoted() {
        let i = Invocation {
            program: "herd-sim".into(),
            args: vec!["run".into(), "my scenarios/a.toml".into()],
        };
        assert_eq!(i.command_line(), "herd-sim run 'my scenarios/a.toml'");
        assert_eq!(
            i.with(&["run", "a.toml", "--seed", "3"]),
            "herd-sim run a.toml --seed 3"
        );
    }
}
