//! RSS per stored client: one server (a herd of one, so nothing floods)
//! is sent IAMATs of `clients` new client IDs, pipelined over a few
//! connections, and its resident memory is read before and after. What a
//! client costs beyond its ID and location text is the store's overhead.

use std::net::SocketAddr;
use std::time::Duration;

use herd::config::HerdConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::procs::{HerdProcs, Setup};
use crate::Settings;

const CONNECTIONS: usize = 8;
/// IAMATs written before their replies are read.
const BATCH: usize = 1_000;
const LOCATION: &str = "+34.068930-118.445127";

/// A client ID as long as `kiwi.cs.ucla.edu`.
fn client(i: usize) -> String {
    format!("client{i:010}")
}

async fn load(target: SocketAddr, clients: usize) {
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            tokio::spawn(async move {
                let stream = TcpStream::connect(target).await.expect("connect");
                let mut stream = BufReader::new(stream);
                let mine: Vec<usize> = (c..clients).step_by(CONNECTIONS).collect();
                let mut reply = String::new();
                for batch in mine.chunks(BATCH) {
                    let mut lines = String::new();
                    for &i in batch {
                        lines += &format!("IAMAT {} {LOCATION} 1700000000.{i:09}\n", client(i));
                    }
                    stream.get_mut().write_all(lines.as_bytes()).await.expect("write");
                    for _ in batch {
                        reply.clear();
                        stream.read_line(&mut reply).await.expect("read");
                        assert!(reply.starts_with("AT "), "{reply:?}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("load connection");
    }
}

pub fn run(settings: &Settings, clients: usize, rt: &tokio::runtime::Runtime) {
    let solo = HerdConfig::from_toml("[[server]]\nname = \"Solo\"\nport = 0\n", "solo").expect("valid herd");
    let text = client(0).len() + LOCATION.len();
    println!("RSS per stored client: one `herd serve` process, {clients} clients of {text} bytes of ID and location");
    println!("(logging at warn, so the log's bounded buffer plays no part)");
    println!();
    println!(
        "{:<16} {:>12} {:>12} {:>14} {:>18}",
        "binary", "RSS before", "RSS after", "B per client", "B above the text"
    );
    let mut first = None;
    for (label, binary) in &settings.binaries {
        // Default tuning: a store holds up to 1,000,000 clients.
        let setup = Setup {
            env: vec![("RUST_LOG".into(), "warn".into())],
            ..Setup::default()
        };
        let mut herd = HerdProcs::launch(binary, &solo, &setup).expect("the server starts");
        herd.wait_ready().expect("the server answers");
        let proc = herd.process("Solo");
        let before = proc.rss_bytes().expect("RSS");
        rt.block_on(load(herd.addr("Solo"), clients));
        std::thread::sleep(Duration::from_secs(1));
        let after = herd.process("Solo").rss_bytes().expect("RSS");
        herd.stop_all().expect("the server stops");
        let per_client = (after - before) as f64 / clients as f64;
        let above = per_client - text as f64;
        let ratio = first.map_or(String::new(), |f: f64| format!(" ({:.2}x)", above / f));
        first.get_or_insert(above);
        println!(
            "{label:<16} {:>10.1}MB {:>10.1}MB {per_client:>14.0} {above:>12.0}{ratio}",
            before as f64 / 1e6,
            after as f64 / 1e6
        );
    }
}
