//! The ceiling: a bare tokio line echo with two worker threads, run as a
//! process of its own (this bench binary started again with `ECHO_PORT`
//! set), so that its CPU is measured the way a server's is.

use std::path::Path;
use std::process::Command;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::procs::{connect, Proc};

/// Set to a port, this binary serves the echo there instead of benching.
pub const PORT_ENV: &str = "HERD_LOAD_ECHO_PORT";

/// Serves the echo on `port` until killed, if this process was started to.
pub fn serve_if_asked() {
    let Some(port) = std::env::var(PORT_ENV).ok().and_then(|p| p.parse::<u16>().ok()) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("echo runtime");
    runtime.block_on(serve(port));
    std::process::exit(0);
}

/// Read a line, write it back, nothing else.
async fn serve(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the echo port");
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
}

/// Starts the echo process on `port`, output in `dir`, and waits until it listens.
pub fn start(port: u16, dir: &Path) -> Proc {
    let mut command = Command::new(std::env::current_exe().expect("this binary"));
    command.env(PORT_ENV, port.to_string());
    let echo = Proc::spawn(command, dir, "echo").expect("start the echo");
    drop(connect(port));
    echo
}
