//! Client throughput and latency of one herd server against a bare tokio
//! line echo server (same clients, same request counts, same run), and the
//! time one update takes to reach all five servers of the default herd.
//!
//! `cargo bench --bench throughput`. Bounded: a few seconds of load per
//! server measured, well under a minute in all on two cores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herd::clock::SystemClock;
use herd::config::{HerdConfig, LogSettings};
use herd::local::{LocalHerd, Observers};
use herd::log::{ServerLog, Threshold};
use herd::observe::SharedObserver;
use herd::places::FakePlaces;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;

const CLIENTS: usize = 64;
const REQUESTS_PER_CLIENT: usize = 1000;
/// Each server is measured this many times, interleaved with the others,
/// and the runs pooled, so a burst of machine noise does not pick a winner.
const ROUNDS: usize = 3;
/// Requests per client before timing starts (connections, caches, store).
const WARM_UP_PER_CLIENT: usize = 20;
const PROPAGATION_UPDATES: usize = 60;
/// No single phase may take longer than this; the bench fails instead.
const PHASE_LIMIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Load {
    requests: usize,
    elapsed: Duration,
    /// Sorted, one per request.
    latencies: Vec<Duration>,
}

impl Load {
    fn pool(&mut self, run: Load) {
        self.requests += run.requests;
        self.elapsed += run.elapsed;
        self.latencies.extend(run.latencies);
        self.latencies.sort();
    }

    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `CLIENTS` connections, each sending IAMAT lines one after another and
/// waiting for each reply line before the next. Every client warms up,
/// then all start the timed part together.
async fn drive(addr: SocketAddr) -> Load {
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let barrier = barrier.clone();
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let mut stream = BufReader::new(stream);
            let mut reply = Vec::with_capacity(128);
            let mut latencies = Vec::with_capacity(REQUESTS_PER_CLIENT);
            for i in 0..WARM_UP_PER_CLIENT + REQUESTS_PER_CLIENT {
                if i == WARM_UP_PER_CLIENT {
                    barrier.wait().await;
                }
                let line = format!("IAMAT bench-{c} +34.068930-118.445127 1700000000.{i:09}\n");
                let sent = Instant::now();
                stream.get_mut().write_all(line.as_bytes()).await.expect("write");
                reply.clear();
                stream.read_until(b'\n', &mut reply).await.expect("read");
                assert!(reply.ends_with(b"\n"), "connection closed");
                if i >= WARM_UP_PER_CLIENT {
                    latencies.push(sent.elapsed());
                }
            }
            latencies
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(CLIENTS * REQUESTS_PER_CLIENT);
    for client in clients {
        latencies.extend(client.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Load {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

/// The baseline: read a line, write it back, nothing else.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            stream.set_nodelay(true).expect("nodelay");
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match stream.read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            if stream.get_mut().write_all(&line).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

fn solo_herd() -> HerdConfig {
    HerdConfig::from_toml("[[server]]\nname = \"Solo\"\nport = 0\n", "bench").expect("valid herd")
}

/// One server, its events to `observer` (the `tracing` one when `None`).
async fn measure_herd(observer: Option<SharedObserver>) -> Load {
    let herd = match observer {
        Some(observer) => {
            let observers: Observers = Arc::new(move |_| observer.clone());
            LocalHerd::start_observed(&solo_herd(), Arc::new(FakePlaces), observers).await
        }
        None => LocalHerd::start(&solo_herd(), Arc::new(FakePlaces)).await,
    }
    .expect("start");
    let load = bounded(drive(herd.addr("Solo"))).await;
    herd.shutdown().await;
    load
}

async fn bounded<T>(phase: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PHASE_LIMIT, phase)
        .await
        .expect("bench phase over its time limit")
}

fn row(name: &str, load: &Load, baseline: Option<&Load>) {
    let (p50, p99) = (load.percentile(0.50), load.percentile(0.99));
    print!(
        "{name:<26} {:>12.0} {:>10.1} {:>10.1}",
        load.per_second(),
        micros(p50),
        micros(p99)
    );
    if let Some(base) = baseline {
        print!(
            "   {:>6.2} {:>8.2} {:>8.2}",
            load.per_second() / base.per_second(),
            micros(p50) / micros(base.percentile(0.50)),
            micros(p99) / micros(base.percentile(0.99)),
        );
    }
    println!();
}

/// The time from sending an IAMAT until every server of the default herd
/// holds it, polled from outside the runtime so the poller takes no
/// worker thread from the servers.
fn propagation(rt: &tokio::runtime::Runtime) -> Vec<Duration> {
    let herd = rt
        .block_on(LocalHerd::start(
            &HerdConfig::default_herd(),
            Arc::new(FakePlaces),
        ))
        .expect("start");
    let names: Vec<String> = herd.herd.servers.iter().map(|s| s.name.clone()).collect();
    let mut connections = Vec::new();
    for name in &names {
        let stream = rt.block_on(TcpStream::connect(herd.addr(name))).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        connections.push(stream);
    }
    let everywhere = |client: &str, time: &str| {
        names
            .iter()
            .all(|n| herd.state(n).get(client).is_some_and(|u| u.time.as_str() == time))
    };
    let mut times = Vec::new();
    // Update 0 waits for the links to come up and is not counted.
    for i in 0..=PROPAGATION_UPDATES {
        let origin = i % names.len();
        let time = format!("1700000000.{i:09}");
        let line = format!("IAMAT spread +1+1 {time}\n");
        let sent = Instant::now();
        rt.block_on(async {
            let stream = &mut connections[origin];
            stream.write_all(line.as_bytes()).await.expect("write");
            let mut reply = [0u8; 256];
            let mut got = 0;
            while !reply[..got].ends_with(b"\n") {
                got += stream.read(&mut reply[got..]).await.expect("read");
            }
        });
        while !everywhere("spread", &time) {
            assert!(
                sent.elapsed() < PHASE_LIMIT,
                "update {i} did not reach every server"
            );
            std::thread::sleep(Duration::from_micros(20));
        }
        if i > 0 {
            times.push(sent.elapsed());
        }
    }
    rt.block_on(herd.shutdown());
    times.sort();
    times
}

fn main() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (mut echo, mut quiet, mut logged) = (Load::default(), Load::default(), Load::default());
    let echo_addr = rt.block_on(echo_server());
    for _ in 0..ROUNDS {
        echo.pool(rt.block_on(bounded(drive(echo_addr))));
        quiet.pool(rt.block_on(measure_herd(None)));
    }
    let times = propagation(&rt);
    // As the binary runs: every line received and sent logged to a file.
    let log_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-logs");
    let _ = std::fs::remove_dir_all(&log_dir);
    let settings = LogSettings::default();
    let log = ServerLog::open(
        &log_dir,
        "Solo",
        &settings,
        Threshold::INFO,
        Arc::new(SystemClock),
    )
    .expect("log file");
    for _ in 0..ROUNDS {
        logged.pool(rt.block_on(measure_herd(Some(log.observer()))));
    }
    log.close();
    let log_bytes = std::fs::metadata(log_dir.join("Solo.log")).map_or(0, |m| m.len());
    let _ = std::fs::remove_dir_all(&log_dir);

    println!("herd throughput: {CLIENTS} clients x {REQUESTS_PER_CLIENT} IAMAT each on persistent loopback connections, {ROUNDS} rounds pooled");
    println!("(after {WARM_UP_PER_CLIENT} warm-up requests per client; one tokio runtime, {cores} worker threads, clients and server share it)");
    println!();
    println!(
        "{:<26} {:>12} {:>10} {:>10}   {:>6} {:>8} {:>8}",
        "server", "requests/s", "p50 µs", "p99 µs", "x rps", "x p50", "x p99"
    );
    row("tokio line echo (base)", &echo, None);
    row("herd, no log subscriber", &quiet, Some(&echo));
    row("herd, logging to file", &logged, Some(&echo));
    println!("(x columns: ratio to the echo baseline; for requests/s higher is better, for latency lower)");
    println!("(the logged runs wrote {:.0} MB of log)", log_bytes as f64 / 1e6);
    println!();
    println!(
        "propagation, default herd (5 servers, 6 links), one IAMAT until all five stores hold it,\n\
         origin rotating over the servers, no log subscriber, {} updates:",
        times.len()
    );
    println!(
        "  median {:.0} µs, p90 {:.0} µs, max {:.0} µs",
        micros(percentile(&times, 0.5)),
        micros(percentile(&times, 0.9)),
        micros(percentile(&times, 1.0)),
    );
    println!();
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
}
