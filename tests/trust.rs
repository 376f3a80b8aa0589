//! Neighbours prove who they are (SPEC §6, docs/protocol.md "Trust"), on
//! real processes: a herd with `HERD_SECRET` links and converges; a
//! stranger who names a neighbour, a replayed recording of a neighbour's
//! handshake, and a server with another secret get nothing and plant
//! nothing; without a secret each server says so once at start.

mod common;

use std::path::Path;
use std::time::Duration;

use common::clients::whatsat;
use common::log_lines::{self, Parsed};
use common::neighbour::{connect, hello, lines_until_closed, link_port, read_line, Protocol, READ_PATIENCE};
use common::procs::{HerdProcs, Setup};
use common::{held_by_all, told, Deadline};
use herd::config::HerdConfig;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const SECRET: &str = "correct horse battery staple";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_herd"))
}

/// Retries come quickly, so a refused neighbour tries again and again.
const TUNING: &str = "backoff_max_ms = 200";

/// `template` run with `secret(name)` as each server's `HERD_SECRET`.
fn herd_with(template: &HerdConfig, tuning: &str, secret: impl Fn(&str) -> Option<String>) -> HerdProcs {
    let setup = Setup::tuning(tuning).secrets(template, secret);
    HerdProcs::launch(binary(), template, &setup).expect("the herd starts")
}

fn secret_herd(template: &HerdConfig) -> HerdProcs {
    herd_with(template, TUNING, |_| Some(SECRET.to_string()))
}

/// The first logged line of `server` that `pick` accepts, waiting for the
/// log to have it (lines reach the file within milliseconds).
async fn logged(herd: &HerdProcs, server: &str, pick: impl Fn(&Parsed) -> bool) -> Parsed {
    let deadline = Deadline::after(READ_PATIENCE, &format!("{server} logs the line wanted"));
    loop {
        let lines = log_lines::lines(&herd.log_dir(), server);
        if let Some(line) = lines.iter().map(|l| log_lines::parse(l)).find(|l| pick(l)) {
            return line;
        }
        deadline.tick().await;
    }
}

/// What `server` sent to `peer` on its link, starting with `prefix`.
fn sent(peer: &str, prefix: &str) -> impl Fn(&Parsed) -> bool {
    let (peer, prefix) = (peer.to_string(), prefix.to_string());
    move |l| l.kind == "send" && l.text("peer") == peer && l.text("line").starts_with(&prefix)
}

/// Sends `lines` on a fresh connection to `port` and reads until the
/// server closes it; what it said, which must be its challenge at most:
/// no update, whichever way it would come.
async fn refused(port: u16, lines: &[String]) -> Vec<String> {
    let mut c = BufReader::new(connect(port).await.expect("connect"));
    for line in lines {
        c.get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("send");
    }
    let said = lines_until_closed(&mut c, READ_PATIENCE)
        .await
        .expect("the server closes the connection in time");
    assert!(
        said.iter().all(|l| l.starts_with("HERD CHALLENGE ")),
        "{lines:?} got {said:?}"
    );
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_the_herd_converges_and_strangers_and_replays_learn_nothing() {
    let herd = secret_herd(&HerdConfig::default_herd());
    told(
        herd.port("Hands"),
        "IAMAT kiwi +34.068930-118.445127 1520023934.918963997",
    )
    .await;
    held_by_all(&herd.ports(), "kiwi").await;

    let links = link_port(herd.port("Goloman")).await.expect("link port");
    // A stranger naming a neighbour, with no proof, a wrong one, or none at all.
    let nonce = "0123456789abcdef0123456789abcdef";
    for proof in [
        "HERD PROOF -".to_string(),
        format!("HERD PROOF {}", "0".repeat(64)),
    ] {
        let said = refused(links, &[format!("HERD HELLO Hands {nonce}"), proof]).await;
        assert!(
            said.len() == 1 && said[0].starts_with("HERD CHALLENGE Goloman "),
            "{said:?}"
        );
    }
    let mut silent = BufReader::new(hello(Protocol::LinkPort, links, "Hands").await.unwrap());
    let challenge = read_line(&mut silent, READ_PATIENCE).await.unwrap();
    assert!(challenge.is_some_and(|c| c.starts_with("HERD CHALLENGE ")));
    // Closed once the handshake timeout (2 s by default) has passed.
    assert_eq!(
        lines_until_closed(&mut silent, READ_PATIENCE).await.unwrap(),
        Vec::<String>::new()
    );

    // Hands's own handshake with Goloman, as it went over the wire, replayed.
    let hello = logged(&herd, "Hands", sent("Goloman", "HERD HELLO Hands ")).await;
    let conn = hello.text("conn");
    let proof = logged(&herd, "Hands", move |l| {
        sent("Goloman", "HERD PROOF ")(l) && l.text("conn") == conn
    })
    .await;
    let recording = [hello.text("line"), proof.text("line")];
    assert_eq!(recording[1].len(), "HERD PROOF ".len() + 64, "{recording:?}");
    let said = refused(links, &recording).await;
    assert_eq!(said.len(), 1, "{said:?}");

    // Goloman logged each of the four as refused, and the herd still works.
    let refusals = || -> Vec<String> {
        log_lines::lines(&herd.log_dir(), "Goloman")
            .iter()
            .map(|l| log_lines::parse(l))
            .filter(|l| l.kind == "refused")
            .map(|l| l.text("claimed"))
            .collect()
    };
    let deadline = Deadline::after(READ_PATIENCE, "Goloman logs four refusals");
    while refusals().len() < 4 {
        deadline.tick().await;
    }
    assert_eq!(refusals(), ["Hands"; 4]);
    told(herd.port("Welsh"), "IAMAT after +1+1 1520023935").await;
    held_by_all(&herd.ports(), "after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_with_different_secrets_never_link() {
    let pair = HerdConfig::from_toml(
        "links = [[\"A\", \"B\"]]\n[[server]]\nname = \"A\"\nport = 0\n[[server]]\nname = \"B\"\nport = 0\n",
        "pair",
    )
    .unwrap();
    let mut herd = herd_with(&pair, TUNING, |name| Some(format!("{SECRET} of {name}")));
    told(herd.port("A"), "IAMAT only-a +1+1 7").await;
    // Each refuses the other's tries, again and again.
    let refusals = |name: &str| {
        log_lines::lines(&herd.log_dir(), name)
            .iter()
            .filter(|l| log_lines::parse(l).kind == "refused")
            .count()
    };
    let deadline = Deadline::after(Duration::from_secs(10), "each refuses the other three times");
    while refusals("A") < 3 || refusals("B") < 3 {
        deadline.tick().await;
    }
    assert!(whatsat(herd.port("B"), "only-a").await.unwrap().starts_with("? "));
    herd.stop_all().expect("the herd stops");
    for name in ["A", "B"] {
        let kinds: Vec<String> = log_lines::lines(&herd.log_dir(), name)
            .iter()
            .map(|l| log_lines::parse(l).kind)
            .collect();
        assert!(
            !kinds.iter().any(|k| k == "link_up" || k == "feed_up"),
            "{name} linked: {kinds:?}"
        );
    }
}

/// The warning, on stderr and in the log, once per server; none with a secret.
#[test]
fn without_a_secret_each_server_says_so_once_at_start() {
    for secret in [None, Some(SECRET)] {
        let mut herd = herd_with(&HerdConfig::default_herd(), "", |_| secret.map(str::to_string));
        let stderr = herd.stop_all().expect("the herd stops");
        let want = usize::from(secret.is_none());
        for (name, stderr) in stderr {
            let said = stderr.matches("HERD_SECRET is not set").count();
            assert_eq!(said, want, "{name}, secret {secret:?}, stderr:\n{stderr}");
            let logged = log_lines::lines(&herd.log_dir(), &name)
                .iter()
                .map(|l| log_lines::parse(l))
                .filter(|l| l.kind == "warning" && l.text("message").contains("HERD_SECRET"))
                .count();
            assert_eq!(logged, want, "{name}'s log, secret {secret:?}");
        }
    }
}

/// Answers `HERD LINKPORT?` on a dead server's client port with a link
/// port of its own, and there greets every subscriber with a challenge
/// (in turn: a recording of the real server's, one with no proof, one with
/// a made-up proof) followed by updates of clients it plants, flooded and
/// as catch-up (a `HERD DUMP` line, for servers that send catch-up so).
async fn squat(ports: Squat, challenge: String, tries: tokio::sync::mpsc::Sender<()>) {
    let Squat { client, links } = ports;
    let link_port = links.local_addr().unwrap().port();
    let answer_port = async move {
        loop {
            let (stream, _) = client.accept().await.unwrap();
            tokio::spawn(async move {
                let mut c = BufReader::new(stream);
                if let Ok(Some(_)) = read_line(&mut c, READ_PATIENCE).await {
                    let _ = c
                        .get_mut()
                        .write_all(format!("HERD LINKPORT {link_port}\n").as_bytes())
                        .await;
                }
            });
        }
    };
    let fresh = "fedcba9876543210fedcba9876543210";
    let greetings = [
        challenge,
        format!("HERD CHALLENGE Welsh {fresh} -"),
        format!("HERD CHALLENGE Welsh {fresh} {}", "ab".repeat(32)),
    ];
    let greet = async move {
        for n in 0.. {
            let (stream, _) = links.accept().await.unwrap();
            let mut c = BufReader::new(stream);
            let _hello = read_line(&mut c, READ_PATIENCE).await;
            let lines = format!(
                "{}\nHERD AT 1 Welsh +0.000000001 planted +10+10 1520023999\n\
                 HERD AT - Welsh +0.000000001 planted-too +10+10 1520023999\n\
                 HERD DUMP Welsh +0.000000001 planted-dump +10+10 1520023999\nHERD SYNCED 2\n",
                greetings[n % greetings.len()]
            );
            let _ = c.get_mut().write_all(lines.as_bytes()).await;
            let _ = tries.send(()).await;
        }
    };
    tokio::join!(answer_port, greet);
}

/// The dead server's client port, and a link port of the squatter's own.
struct Squat {
    client: tokio::net::TcpListener,
    links: tokio::net::TcpListener,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_squatting_on_a_dead_neighbours_port_plants_nothing() {
    let mut herd = secret_herd(&HerdConfig::default_herd());
    let names = herd.names();
    told(herd.port("Welsh"), "IAMAT before +1+1 1520023934").await;
    held_by_all(&herd.ports(), "before").await;
    let challenge = logged(&herd, "Welsh", sent("Holiday", "HERD CHALLENGE Welsh ")).await;

    herd.kill("Welsh");
    let welsh = herd.port("Welsh");
    let ports = Squat {
        client: tokio::net::TcpListener::bind(("127.0.0.1", welsh))
            .await
            .expect("Welsh's port"),
        links: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let (tries_tx, mut tries) = tokio::sync::mpsc::channel(16);
    let squatter = tokio::spawn(squat(ports, challenge.text("line"), tries_tx));
    // It also dials Holiday as Welsh, and says what it would plant.
    let holiday_links = link_port(herd.port("Holiday")).await.unwrap();
    let mut dialled: TcpStream = hello(Protocol::LinkPort, holiday_links, "Welsh").await.unwrap();
    let _ = dialled
        .write_all(b"HERD PROOF -\nHERD AT 1 Welsh +0.000000001 planted +10+10 1520023999\n")
        .await;
    let live: Vec<String> = names.iter().filter(|n| *n != "Welsh").cloned().collect();
    for _ in 0..6 {
        tokio::time::timeout(Duration::from_secs(10), tries.recv())
            .await
            .expect("Holiday keeps trying the squatter");
    }
    for name in &live {
        for client in ["planted", "planted-too", "planted-dump"] {
            let answer = whatsat(herd.port(name), client).await.unwrap();
            assert!(answer.starts_with("? "), "{name} holds {answer}");
        }
    }

    // The real Welsh comes back on its port: the herd links it and converges.
    squatter.abort();
    let _ = squatter.await;
    told(herd.port("Goloman"), "IAMAT meanwhile +2+2 1520023935").await;
    herd.restart("Welsh").expect("Welsh starts again");
    held_by_all(&[herd.port("Welsh")], "before").await;
    held_by_all(&[herd.port("Welsh")], "meanwhile").await;
    told(herd.port("Welsh"), "IAMAT back +3+3 1520023936").await;
    held_by_all(&herd.ports(), "back").await;
}
