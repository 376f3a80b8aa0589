//! The herd under test (names, addresses and links, from `--herd`) and
//! what one run gives each server: a herd config in this project's format
//! in which the server's own entry keeps its real address and each
//! neighbour's entry holds the proxies herd-sim puts on that link (one to
//! the neighbour's client port, one to its link port). Every server also
//! gets a link port of its own, picked here, so that our herd's links go
//! through the proxies too; a herd that ignores `link_port` dials the
//! neighbour's `port`, which is a proxy as well.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use herd::config::{HerdConfig, LogSettings, ServerSpec, Tuning};

use crate::scenario::Scenario;

/// Link ports are picked below Linux's default ephemeral range
/// (32768-60999), so no outgoing connection takes one before the server
/// binds it.
const LINK_PORTS: std::ops::Range<u16> = 20_000..32_768;

/// Whether `scenario` is about this herd: the same servers and links (its
/// ports may differ; the herd under test's are used).
pub fn fits(herd: &HerdConfig, scenario: &Scenario) -> Result<(), String> {
    let names = |h: &HerdConfig| h.servers.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let (ours, theirs) = (names(herd), names(&scenario.herd));
    let mut sorted = (ours.clone(), theirs.clone());
    sorted.0.sort();
    sorted.1.sort();
    if sorted.0 != sorted.1 || herd.links != scenario.herd.links {
        return Err(format!(
            "the scenario's herd ({}) is not the herd under test ({}); give --herd its herd file",
            theirs.join(", "),
            ours.join(", ")
        ));
    }
    Ok(())
}

/// The two proxies on the link from `from` to `to`: what `from` dials to
/// reach `to`'s client port and its link port.
#[derive(Debug, Clone, Copy)]
pub struct LinkProxies {
    pub client: SocketAddr,
    pub link: SocketAddr,
}

/// One run's addresses.
pub struct Layout {
    pub herd: HerdConfig,
    /// Each server's link port.
    pub link_ports: BTreeMap<String, u16>,
    /// By (from, to), for every link in both directions.
    pub proxies: BTreeMap<(String, String), LinkProxies>,
}

impl Layout {
    /// The real address of `server`'s client port.
    pub fn addr(&self, server: &str) -> Option<SocketAddr> {
        let spec = self.herd.server(server)?;
        (spec.host.as_str(), spec.port).to_socket_addrs().ok()?.next()
    }

    /// The real address of `server`'s link port.
    pub fn link_addr(&self, server: &str) -> Option<SocketAddr> {
        let mut addr = self.addr(server)?;
        addr.set_port(*self.link_ports.get(server)?);
        Some(addr)
    }

    /// The herd config `name` runs with, as TOML.
    pub fn config_for(&self, name: &str) -> Result<String, String> {
        let servers = self
            .herd
            .servers
            .iter()
            .map(|s| {
                let own = s.name == name;
                let via = self.proxies.get(&(name.to_string(), s.name.clone()));
                match (own, via) {
                    (true, _) => ServerSpec {
                        link_port: self.link_ports.get(name).copied(),
                        ..s.clone()
                    },
                    (false, Some(p)) => ServerSpec {
                        name: s.name.clone(),
                        host: p.client.ip().to_string(),
                        port: p.client.port(),
                        link_port: Some(p.link.port()),
                    },
                    (false, None) => ServerSpec {
                        link_port: None,
                        ..s.clone()
                    },
                }
            })
            .collect();
        let config = HerdConfig {
            links: self.herd.links.clone(),
            servers,
            tuning: self.herd.tuning.clone(),
            log: LogSettings::default(),
        };
        config.to_toml().map_err(|e| e.to_string())
    }
}

/// The herd under test with a scenario's timings.
pub fn with_tuning(herd: &HerdConfig, tuning: &Tuning) -> HerdConfig {
    HerdConfig {
        tuning: tuning.clone(),
        ..herd.clone()
    }
}

/// Every link of `herd` in both directions.
pub fn directed_links(herd: &HerdConfig) -> Vec<(String, String)> {
    herd.links
        .iter()
        .flat_map(|(a, b)| [(a.clone(), b.clone()), (b.clone(), a.clone())])
        .collect()
}

/// A link port for each server: free a moment ago, and none of the
/// herd's client ports.
pub fn pick_link_ports(herd: &HerdConfig) -> Result<BTreeMap<String, u16>, String> {
    let span = LINK_PORTS.end - LINK_PORTS.start;
    let start = (std::hash::RandomState::new().hash_one(std::process::id()) % u64::from(span)) as u16;
    let mut free = (0..span)
        .map(|i| LINK_PORTS.start + (start + i) % span)
        .filter(|p| !herd.servers.iter().any(|s| s.port == *p))
        .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok());
    herd.servers
        .iter()
        .map(|s| {
            free.next()
                .map(|p| (s.name.clone(), p))
                .ok_or_else(|| format!("no free port in {LINK_PORTS:?} for {}'s link port", s.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        let herd = HerdConfig::default_herd();
        let mut proxies = BTreeMap::new();
        for (i, (from, to)) in directed_links(&herd).into_iter().enumerate() {
            let port = 40_000 + 2 * i as u16;
            proxies.insert(
                (from, to),
                LinkProxies {
                    client: SocketAddr::from(([127, 0, 0, 1], port)),
                    link: SocketAddr::from(([127, 0, 0, 1], port + 1)),
                },
            );
        }
        let link_ports = herd
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), 21_000 + i as u16))
            .collect();
        Layout {
            herd,
            link_ports,
            proxies,
        }
    }

    #[test]
    fn neighbours_are_reached_through_the_proxies_of_their_link() {
        let layout = layout();
        let text = layout.config_for("Welsh").unwrap();
        let config = HerdConfig::from_toml(&text, "Welsh.toml").expect("a valid herd config");
        let welsh = config.server("Welsh").unwrap();
        assert_eq!((welsh.port, welsh.link_port), (12003, Some(21_003)));
        let holiday = config.server("Holiday").unwrap();
        let via = layout.proxies[&("Welsh".to_string(), "Holiday".to_string())];
        assert_eq!(
            (holiday.port, holiday.link_port),
            (via.client.port(), Some(via.link.port()))
        );
        // Not a neighbour: its real client port, and no link port.
        let hands = config.server("Hands").unwrap();
        assert_eq!((hands.port, hands.link_port), (12001, None));
        assert_eq!(config.links, layout.herd.links);
    }
}
