//! A process squatting on a dead server's ports: what a `squat` step runs
//! on that server's host while it is down. It answers `HERD LINKPORT?` on
//! the client port like the server, and on its link port speaks the link
//! protocol without knowing the herd secret: a challenge with a made-up
//! proof, then a catch-up dump with an update no client ever sent. A
//! neighbour that believes it stores that update, which the oracle's model
//! of the stores catches (docs/protocol.md, "Trust").

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;
use turmoil::net::{TcpListener, TcpStream};

use super::clock::EPOCH_SECS;
use crate::observe::{sim_now, Log, Note};

/// The client the squatter plants, which no scenario client is called.
pub const PLANTED: &str = "squatted.sim";
/// How often a believed squatter says something, to keep the link up.
const PING_MS: u64 = 50;
/// How long it waits for a line of the handshake.
const LINE_MS: u64 = 2_000;

/// Runs until the host is crashed or restarted; notes every link it takes.
pub async fn squat(name: String, port: u16, link_port: Option<u16>, log: Log) -> turmoil::Result {
    let clients = TcpListener::bind(("0.0.0.0", port)).await?;
    let links = TcpListener::bind(("0.0.0.0", link_port.unwrap_or(0))).await?;
    let link_port = links.local_addr()?.port();
    loop {
        tokio::select! {
            Ok((stream, _)) = clients.accept() => {
                tokio::task::spawn_local(answer_link_port(stream, link_port));
            }
            Ok((stream, addr)) = links.accept() => {
                let from = turmoil::reverse_lookup(addr.ip()).unwrap_or_default();
                log.note(sim_now(), Note::Squatted { server: name.clone(), from });
                tokio::task::spawn_local(pose(stream, name.clone()));
            }
        }
    }
}

async fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    let read = timeout(Duration::from_millis(LINE_MS), reader.read_line(&mut line)).await;
    matches!(read, Ok(Ok(n)) if n > 0).then_some(line)
}

async fn answer_link_port(stream: TcpStream, link_port: u16) {
    let mut reader = BufReader::new(stream);
    if read_line(&mut reader)
        .await
        .is_some_and(|l| l.trim() == "HERD LINKPORT?")
    {
        let answer = format!("HERD LINKPORT {link_port}\n");
        let _ = reader.get_mut().write_all(answer.as_bytes()).await;
    }
}

/// Plays the publisher of a link, without the secret.
async fn pose(stream: TcpStream, name: String) {
    let mut reader = BufReader::new(stream);
    if read_line(&mut reader).await.is_none() {
        return;
    }
    let nonce = "5".repeat(herd::protocol::NONCE_HEX);
    let mac = "a".repeat(herd::protocol::MAC_HEX);
    let challenge = format!("HERD CHALLENGE {name} {nonce} {mac}\n");
    if reader.get_mut().write_all(challenge.as_bytes()).await.is_err() {
        return;
    }
    if read_line(&mut reader).await.is_none() {
        return;
    }
    let dump = format!(
        "HERD DUMP {name} +0.000000000 {PLANTED} +10.000000+010.000000 {EPOCH_SECS}.5\nHERD SYNCED 1\n"
    );
    let stream = reader.get_mut();
    let mut message = dump.into_bytes();
    while stream.write_all(&message).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(PING_MS)).await;
        message = b"HERD PING\n".to_vec();
    }
}
