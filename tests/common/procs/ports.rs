//! Free loopback ports, the herd TOML for them, and which ports have
//! established connections.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::hash::BuildHasher;
use std::io;
use std::net::TcpListener;
use std::sync::Mutex;

use herd::config::HerdConfig;

use super::Setup;

/// Ports are picked below Linux's default ephemeral range (32768-60999),
/// so no outgoing connection can take one between picking and binding it.
const PORTS: std::ops::Range<u16> = 20_000..32_768;

/// Ports handed out by this process, so tests running in parallel threads
/// never pick the same one.
static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// `n` loopback ports nobody listens on, from a random point in `PORTS`.
pub fn free_ports(n: usize) -> Vec<u16> {
    let span = PORTS.end - PORTS.start;
    let start = (std::hash::RandomState::new().hash_one(std::process::id()) % span as u64) as u16;
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    let ports: Vec<u16> = (0..span)
        .map(|i| PORTS.start + (start + i) % span)
        .filter(|p| !taken.contains(p) && TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .take(n)
        .collect();
    assert_eq!(ports.len(), n, "not enough free loopback ports in {PORTS:?}");
    taken.extend(&ports);
    ports
}

/// `herd`'s servers on 127.0.0.1 at `ports` (in server order), its links,
/// and `setup`'s tuning and log tables. They are text so that a binary of
/// another release gets only the fields it knows.
pub fn herd_toml(herd: &HerdConfig, ports: &[u16], setup: &Setup) -> String {
    let links: Vec<String> = herd
        .links
        .iter()
        .map(|(a, b)| format!("[{a:?}, {b:?}]"))
        .collect();
    let mut text = format!("links = [{}]\n", links.join(", "));
    for (spec, port) in herd.servers.iter().zip(ports) {
        text += &format!(
            "\n[[server]]\nname = {:?}\nhost = \"127.0.0.1\"\nport = {port}\n",
            spec.name
        );
    }
    text += &format!("\n[tuning]\n{}\n", setup.tuning);
    if !setup.log.is_empty() {
        text += &format!("\n[log]\n{}\n", setup.log);
    }
    text
}

/// How many established TCP connections each local port has, from
/// `/proc/net/tcp` (`sl local_address rem_address st ...`, addresses as
/// hex `IP:PORT`, state 01 for established).
pub fn established_by_port() -> io::Result<HashMap<u16, usize>> {
    let table = fs::read_to_string("/proc/net/tcp")?;
    let mut counts = HashMap::new();
    for line in table.lines().skip(1) {
        let mut fields = line.split_whitespace().skip(1);
        let (Some(local), Some("01")) = (fields.next(), fields.nth(1)) else {
            continue;
        };
        if let Some(port) = local
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
        {
            *counts.entry(port).or_default() += 1;
        }
    }
    Ok(counts)
}
