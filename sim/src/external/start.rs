//! Starting the herd for one run: proxies on every link, the Places
//! stand-in, a config for each server, each server's command; then the
//! wait until every server accepts connections and an IAMAT sent to each
//! (a marker) is answered and shown by every server. Whether any of that
//! traffic went through the proxies says whether link faults can act on
//! this herd.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::clients::ask;
use super::clock::RealClock;
use super::command::{fill, Values};
use super::layout::{directed_links, pick_link_ports, Layout, LinkProxies};
use super::places::StandIn;
use super::procs::Procs;
use super::proxy::{serve, Wires};
use super::recording::Recording;
use super::stage::{Stage, START_PATIENCE};
use crate::driver::{Caveat, READ_ARGS};
use crate::oracle::text::nanos_text;
use crate::scenario::Network;
use herd::config::HerdConfig;

/// How long the markers may take to reach every server.
const READY_PATIENCE: Duration = Duration::from_secs(5);
/// How long the markers may make no progress at all: longer than our
/// herd's longest wait before it redials a link (`backoff_max_ms`, 2 s in
/// the scenarios' timings), shorter than `READY_PATIENCE`, so that a herd
/// that never spreads them does not cost the whole wait.
const READY_STALL: Duration = Duration::from_millis(2500);
const MARKER_TIMEOUT: Duration = Duration::from_secs(5);

/// What one run starts from.
pub struct Setup<'a> {
    pub herd: HerdConfig,
    pub template: &'a str,
    pub dir: &'a Path,
    pub network: &'a Network,
    pub seed: u64,
}

/// How the start went: the markers sent, as (server, line), and a note
/// when not every server showed every marker.
pub struct Ready {
    pub markers: Vec<(String, String)>,
    pub note: Option<Caveat>,
}

/// The herd, started and ready; or why it could not be.
pub async fn start(setup: Setup<'_>) -> Result<(Stage, Ready), String> {
    let herd = setup.herd;
    for s in &herd.servers {
        if std::net::TcpListener::bind((s.host.as_str(), s.port)).is_err() {
            return Err(format!(
                "{}:{} ({}'s port) is in use before the herd started: stop what listens there, \
                 or give --herd a herd file with other ports",
                s.host, s.port, s.name
            ));
        }
    }
    let link_ports = pick_link_ports(&herd)?;
    let recording = Rc::new(Recording::default());
    let wires = Rc::new(Wires::new(setup.network.latency_ms, setup.seed, recording));
    let mut layout = Layout {
        herd: herd.clone(),
        link_ports,
        proxies: BTreeMap::new(),
    };
    let io = |e: std::io::Error| format!("cannot open a link proxy: {e}");
    for (from, to) in directed_links(&herd) {
        let targets = (layout.addr(&to), layout.link_addr(&to));
        let (Some(client_target), Some(link_target)) = targets else {
            return Err(format!("cannot resolve {to}'s address"));
        };
        let client = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let link = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let proxies = LinkProxies {
            client: client.local_addr().map_err(io)?,
            link: link.local_addr().map_err(io)?,
        };
        for (listener, target) in [(client, client_target), (link, link_target)] {
            let task = serve(listener, from.clone(), to.clone(), target, wires.clone());
            tokio::task::spawn_local(task);
        }
        layout.proxies.insert((from, to), proxies);
    }
    let places = StandIn::start()
        .await
        .map_err(|e| format!("cannot start the Places stand-in: {e}"))?;
    let mut commands = BTreeMap::new();
    for s in &herd.servers {
        let config = setup.dir.join(format!("{}.toml", s.name));
        let text = layout.config_for(&s.name)?;
        std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let values = Values {
            name: &s.name,
            port: s.port,
            config: &config,
            places: places.url(),
        };
        commands.insert(s.name.clone(), fill(setup.template, &values));
    }
    let procs = Procs::new(setup.dir, commands, places.url());
    let mut stage = Stage::new(layout, procs, wires, places, setup.network.latency_ms[1]);
    for s in &herd.servers {
        stage.recording.started(&s.name);
        stage
            .procs
            .spawn(&s.name)
            .map_err(|e| format!("cannot run {}'s command: {e}", s.name))?;
    }
    for s in &herd.servers {
        stage.wait_accepting(&s.name).await?;
    }
    let ready = markers(&stage).await?;
    stage.proxied = stage.wires.accepted() > 0;
    Ok((stage, ready))
}

/// Sends a marker IAMAT to every server and waits until every server
/// shows every marker; a note if they did not within `READY_PATIENCE`
/// (or stopped spreading for `READY_STALL`).
async fn markers(stage: &Stage) -> Result<Ready, String> {
    let up = stage.up();
    let mut marks = Vec::new();
    let mut sent = Vec::new();
    for (server, addr) in &up {
        let client = format!("herd-sim-ready-{server}");
        let line = format!("IAMAT {client} +0.0+0.0 {}\n", nanos_text(RealClock::posix_ns()));
        let reply = ask(*addr, line.as_bytes(), START_PATIENCE)
            .await
            .unwrap_or_default();
        if !reply.starts_with(b"AT ") {
            return Err(format!(
                "{server} answered {:?} to {:?}: not an AT line",
                String::from_utf8_lossy(&reply),
                line.trim_end()
            ));
        }
        marks.push(client);
        sent.push((server.clone(), line));
    }
    let deadline = tokio::time::Instant::now() + READY_PATIENCE;
    let mut missing: Vec<(String, String)> = up
        .iter()
        .flat_map(|(s, _)| marks.iter().map(move |m| (s.clone(), m.clone())))
        .collect();
    let mut progress = tokio::time::Instant::now();
    while !missing.is_empty() && progress.elapsed() < READY_STALL && tokio::time::Instant::now() < deadline {
        let before = missing.len();
        let mut still = Vec::new();
        for (server, mark) in missing {
            let addr = stage.addr(&server);
            let reply = ask(
                addr,
                format!("WHATSAT {mark} {READ_ARGS}\n").as_bytes(),
                MARKER_TIMEOUT,
            )
            .await;
            if !reply.is_ok_and(|r| r.starts_with(b"AT ")) {
                still.push((server, mark));
            }
        }
        if still.len() < before {
            progress = tokio::time::Instant::now();
        }
        missing = still;
        if !missing.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let note = missing.first().map(|(server, mark)| Caveat {
        place: "start".into(),
        what: format!(
            "the herd did not show every start-up marker at every server within {READY_PATIENCE:?} \
             (e.g. {server} does not know {mark}); the scenario ran anyway"
        ),
        skipped: false,
    });
    Ok(Ready { markers: sent, note })
}
