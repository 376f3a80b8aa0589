//! The `herd` binary: parse arguments, set up logs, load the herd, run the
//! servers asked for until Ctrl-C. Everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use strum::VariantNames;
use tokio::sync::{mpsc, watch};

use herd::clock::SystemClock;
use herd::config::HerdConfig;
use herd::log::{ServerLog, Threshold};
use herd::net::TokioNet;
use herd::places::{self, Backend, ReqwestClient, API_KEY_ENV};
use herd::server::{self, Secret, ServerEnv, ServerState, SECRET_ENV};
use rand::TryRngCore;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "herd",
    version,
    about = "A proxy herd: servers that flood client locations to each other and answer nearby-place queries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run servers of the herd in this process until Ctrl-C.
    Serve(ServeArgs),
    /// Print a herd configuration as TOML (the built-in default herd unless --config).
    Config {
        /// Herd configuration file to check and print.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Names of the servers to run (see `herd config`).
    #[arg(value_name = "NAME", required_unless_present = "all", conflicts_with = "all")]
    names: Vec<String>,
    /// Run every server of the herd.
    #[arg(long)]
    all: bool,
    /// Herd configuration file (TOML); the built-in default herd if absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Places back end. Default: `google` when GOOGLE_PLACES_API_KEY is set, else `fake`.
    #[arg(long, value_name = "BACKEND",
          value_parser = PossibleValuesParser::new(Backend::VARIANTS).try_map(|s| s.parse::<Backend>()))]
    places: Option<Backend>,
    /// Base URL for the Google back ends (to point them at a mock or proxy).
    #[arg(long, value_name = "URL")]
    places_url: Option<String>,
    /// Directory for the per-server log files `<NAME>.log`.
    #[arg(long, value_name = "DIR", default_value = "logs")]
    log_dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Config { config } => {
            let herd = load_herd(config.as_ref())?;
            print!("{}", herd.to_toml().context("cannot write the herd as TOML")?);
            Ok(())
        }
        Command::Serve(args) => serve(args),
    }
}

fn load_herd(path: Option<&PathBuf>) -> Result<HerdConfig> {
    Ok(match path {
        Some(path) => HerdConfig::from_file(path)?,
        None => HerdConfig::default_herd(),
    })
}

/// Runs each server on a single-threaded runtime of its own thread, and
/// waits on this thread for a signal or a server's failure. A server's
/// tasks then never wake each other across threads (futex calls and
/// context switches cost more than they share on a small machine), and the
/// servers of `--all` cost what as many processes would.
fn serve(args: ServeArgs) -> Result<()> {
    let herd = Arc::new(load_herd(args.config.as_ref())?);
    let names: Vec<String> = if args.all {
        herd.servers.iter().map(|s| s.name.clone()).collect()
    } else {
        args.names.clone()
    };
    for name in &names {
        if herd.server(name).is_none() {
            let known: Vec<&str> = herd.servers.iter().map(|s| s.name.as_str()).collect();
            bail!(
                "no server named {name:?} in the herd (it has {})",
                known.join(", ")
            );
        }
    }
    let (backend, key) = choose_places(&args);
    let rust_log = std::env::var("RUST_LOG").ok();
    let threshold = Threshold::choose(&herd.log.level, rust_log.as_deref())?;
    // Warned only once everything else checked out: an error stays one line.
    let secret = Secret::from_env();
    if secret.is_none() {
        eprintln!(
            "warning: {SECRET_ENV} is not set: links between servers are not authenticated \
             (see docs/protocol.md, \"Trust\")"
        );
    }

    // Signals are listened for before any server takes a connection: a
    // SIGTERM in between would find no handler and kill the process, with
    // nothing drained and its log lines lost.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stop_signal = {
        let _inside = signals.enter();
        stop_signal().context("cannot listen for signals")?
    };

    let (stop, stopped) = watch::channel(false);
    // One message per server at most: the channel never fills.
    let (ended_tx, mut ended) = mpsc::channel(names.len());
    let mut servers = Vec::new();
    let mut logs = Vec::new();
    for name in &names {
        // A client per server: its pooled connections live on that server's runtime.
        let places = build_places(&args, &herd, backend, key.clone())?;
        let log = ServerLog::open(&args.log_dir, name, &herd.log, threshold, Arc::new(SystemClock))
            .with_context(|| format!("cannot open the log file in {}", args.log_dir.display()))?;
        let spec = herd.server(name).expect("checked above");
        eprintln!(
            "{name}: serving on {}:{}, log {}",
            spec.host,
            spec.port,
            log.path().display()
        );
        let mut env = ServerEnv::new(TokioNet, Arc::new(SystemClock), places);
        env.observer = log.observer();
        logs.push(log);
        env.secret = secret.clone();
        // Handshake nonces must be unpredictable: seed from the OS.
        env.seed = rand::rngs::OsRng
            .try_next_u64()
            .context("cannot read random bytes from the OS")?;
        let mut stopped = stopped.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|&s| s).await;
        };
        let state = ServerState::new(name, herd.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let ended_tx = ended_tx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("serve {name}"))
            .spawn(move || {
                let result = runtime.block_on(server::run(state, env, shutdown));
                let _ = ended_tx.try_send(());
                result
            })
            .context("cannot start a server thread")?;
        servers.push(thread);
    }
    drop(ended_tx);

    // Stop on Ctrl-C (or SIGTERM), or as soon as any server ends.
    signals.block_on(async {
        tokio::select! {
            _ = stop_signal => {}
            _ = ended.recv() => {}
        }
    });
    let _ = stop.send(true);
    eprintln!("stopping: draining connections");
    let mut result = Ok(());
    for server in servers {
        let done = server.join().map_err(|_| anyhow!("a server thread failed"));
        if result.is_ok() {
            result = done.and_then(|r| Ok(r?));
        }
    }
    // Every server has stopped: what they logged goes to disk before exit.
    logs.into_iter().for_each(ServerLog::close);
    result
}

/// The Places back end to use (warning when it falls back to the fake), and the key.
fn choose_places(args: &ServeArgs) -> (Backend, Option<String>) {
    let key = std::env::var(API_KEY_ENV).ok().filter(|k| !k.trim().is_empty());
    let backend = match (args.places, &key) {
        (Some(chosen), _) => chosen,
        (None, Some(_)) => Backend::Google,
        (None, None) => {
            eprintln!("warning: {API_KEY_ENV} is not set; using the offline Places fake");
            Backend::Fake
        }
    };
    (backend, key)
}

fn build_places(
    args: &ServeArgs,
    herd: &HerdConfig,
    backend: Backend,
    key: Option<String>,
) -> Result<Arc<dyn places::Places>> {
    let timeout = Duration::from_millis(herd.tuning.places_timeout_ms);
    let http = Arc::new(ReqwestClient::new(timeout).context("cannot set up the HTTP client")?);
    Ok(places::build(backend, key, args.places_url.clone(), http)?)
}

/// Resolves on Ctrl-C or SIGTERM; listening starts when this is called
/// (inside a runtime), not when it is first awaited.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
