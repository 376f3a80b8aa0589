//! The proxy between two real sockets: what a partition, a heal, a hold
//! and a release do to the bytes and to the connection, and what is
//! recorded. The waits for silence can only pass wrongly (a byte slower
//! than the window), never fail wrongly.

use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{serve, split_lines, Wires};
use crate::external::clock::RealClock;
use crate::external::recording::Recording;
use crate::observe::{Fault, ServerEvent, What};

const SILENCE: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(5);

fn run(test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, test);
}

/// A proxy from "A" to "B": the client end A dials, and B's accepted end.
struct Ends {
    wires: Rc<Wires>,
    recording: Rc<Recording>,
    proxy: std::net::SocketAddr,
    target: TcpListener,
}

async fn ends() -> Ends {
    let recording = Rc::new(Recording::default());
    recording.start(RealClock::start());
    let wires = Rc::new(Wires::new([0, 0], 1, recording.clone()));
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let to = target.local_addr().unwrap();
    tokio::task::spawn_local(serve(listener, "A".into(), "B".into(), to, wires.clone()));
    Ends {
        wires,
        recording,
        proxy,
        target,
    }
}

impl Ends {
    async fn connect(&self) -> (TcpStream, TcpStream) {
        let a = TcpStream::connect(self.proxy).await.unwrap();
        let (b, _) = tokio::time::timeout(PATIENCE, self.target.accept())
            .await
            .unwrap()
            .unwrap();
        (a, b)
    }

    fn cut(&self, cut: bool) {
        let (a, b) = (vec!["A".to_string()], vec!["B".to_string()]);
        let fault = if cut {
            Fault::Partition { a, b, oneway: false }
        } else {
            Fault::Heal { a, b, oneway: false }
        };
        assert!(self.wires.apply(&fault));
    }
}

async fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    got
}

/// Nothing arrives, and the connection is not closed either.
async fn silent(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(SILENCE, stream.read(&mut byte)).await {
        Err(_) => {}
        Ok(read) => panic!("expected silence, got {read:?} ({:?})", byte),
    }
}

#[test]
fn lines_pass_and_are_recorded_as_sent_and_received() {
    run(async {
        let ends = ends().await;
        let (mut a, mut b) = ends.connect().await;
        let sent = b"HERD PING\nFLOOD A AT A +0.000000001 kiwi +1.0+1.0 1.5\nOK\n";
        a.write_all(sent).await.unwrap();
        assert_eq!(read_exactly(&mut b, sent.len()).await, sent);
        b.write_all(b"OK\n").await.unwrap();
        assert_eq!(read_exactly(&mut a, 3).await, b"OK\n");
        let records = ends.recording.log().records();
        let kinds: Vec<(String, &str)> = records
            .iter()
            .filter_map(|r| match &r.what {
                What::Server {
                    event: ServerEvent::PeerSend { .. },
                    ..
                } => Some((r.host.to_string(), "send")),
                What::Server {
                    event: ServerEvent::PeerRecv { .. },
                    ..
                } => Some((r.host.to_string(), "recv")),
                _ => None,
            })
            .collect();
        // Two typed lines each way of A's; "OK" is typed by nobody.
        let want = [("A", "send"), ("A", "send"), ("B", "recv"), ("B", "recv")];
        assert_eq!(kinds, want.map(|(h, k)| (h.to_string(), k)), "{records:#?}");
    });
}

#[test]
fn a_partition_drops_bytes_silently_and_keeps_the_connection_open() {
    run(async {
        let ends = ends().await;
        let (mut a, mut b) = ends.connect().await;
        ends.cut(true);
        a.write_all(b"lost\n").await.unwrap();
        b.write_all(b"lost too\n").await.unwrap();
        silent(&mut b).await;
        silent(&mut a).await;
        // The connection lost bytes for good: healed, it stays dead.
        ends.cut(false);
        a.write_all(b"after\n").await.unwrap();
        silent(&mut b).await;
        // Even when A closes: B is not told.
        drop(a);
        silent(&mut b).await;
        // A new connection goes through.
        let (mut a2, mut b2) = ends.connect().await;
        a2.write_all(b"fresh\n").await.unwrap();
        assert_eq!(read_exactly(&mut b2, 6).await, b"fresh\n");
    });
}

#[test]
fn a_hold_delivers_late_and_in_order() {
    run(async {
        let ends = ends().await;
        let (mut a, mut b) = ends.connect().await;
        let (x, y) = (vec!["A".to_string()], vec!["B".to_string()]);
        ends.wires.apply(&Fault::Hold {
            a: x.clone(),
            b: y.clone(),
        });
        a.write_all(b"one\n").await.unwrap();
        a.write_all(b"two\n").await.unwrap();
        silent(&mut b).await;
        ends.wires.apply(&Fault::Release { a: x, b: y });
        assert_eq!(read_exactly(&mut b, 8).await, b"one\ntwo\n");
    });
}

#[test]
fn a_close_passes_when_nothing_was_lost() {
    run(async {
        let ends = ends().await;
        let (a, mut b) = ends.connect().await;
        drop(a);
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, b.read_to_end(&mut rest))
            .await
            .unwrap();
        assert_eq!((read.unwrap(), rest.len()), (0, 0));
    });
}

#[test]
fn lines_are_split_across_reads() {
    let mut partial = Vec::new();
    assert!(split_lines(&mut partial, b"HERD P").is_empty());
    let lines = split_lines(&mut partial, b"ING\r\nHERD AT x\nHE");
    assert_eq!(lines, vec![b"HERD PING".to_vec(), b"HERD AT x".to_vec()]);
    assert_eq!(partial, b"HE");
}
