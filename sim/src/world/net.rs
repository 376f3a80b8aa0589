//! The server's network seam on turmoil's simulated TCP, and the order in
//! which a crashed server's sockets close.
//!
//! When turmoil crashes (or bounces) a host it drops the host's tokio
//! runtime, which drops the runtime's tasks shard by shard, the shard being
//! the task's number mod 4. Task numbers come from one process-wide counter,
//! so the order of the closes (the FINs and RSTs the neighbours see) would
//! depend on whatever the process spawned before the run. So every stream
//! is numbered when it is opened; a stream dropped while its host is torn
//! down is only set aside, and the host's software, which turmoil drops
//! after every task, closes them all in the order they were opened.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{ready, Context, Poll};

use herd::net::{Listener, Net};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use turmoil::net::TcpStream;

use super::setup::Perturb;
use super::shaping::{read_limited, ResetFlag, Shaping};

/// The streams of one server host, numbered in the order they were opened.
#[derive(Default)]
pub struct Sockets {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    tearing_down: bool,
    set_aside: Vec<(u64, TcpStream)>,
    /// Every stream's far host and reset switch, for `reset`.
    live: Vec<(String, Weak<ResetFlag>)>,
}

impl Sockets {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn number(&self) -> u64 {
        let mut state = self.lock();
        state.next += 1;
        state.next
    }

    /// Resets every open connection to or from `peer` (a host name).
    pub fn reset(&self, peer: &str) {
        let flags: Vec<Arc<ResetFlag>> = {
            let mut state = self.lock();
            state.live.retain(|(_, flag)| flag.strong_count() > 0);
            let live = state.live.iter().filter(|(host, _)| host == peer);
            live.filter_map(|(_, flag)| flag.upgrade()).collect()
        };
        flags.iter().for_each(|f| f.trip());
    }

    fn register(&self, peer: String, flag: &Arc<ResetFlag>) {
        self.lock().live.push((peer, Arc::downgrade(flag)));
    }

    /// From now until the host's software is dropped, dropped streams are
    /// set aside; call it right before turmoil crashes or bounces the host.
    pub fn tear_down(&self) {
        self.lock().tearing_down = true;
    }

    fn release(&self, number: u64, stream: TcpStream) {
        let keep = {
            let mut state = self.lock();
            if state.tearing_down {
                state.set_aside.push((number, stream));
                None
            } else {
                Some(stream)
            }
        };
        // Closing sends a segment through turmoil; never under our lock.
        drop(keep);
    }

    fn close_in_order(&self) {
        let mut streams = {
            let mut state = self.lock();
            state.tearing_down = false;
            std::mem::take(&mut state.set_aside)
        };
        streams.sort_by_key(|(number, _)| *number);
        for (_, stream) in streams {
            drop(stream);
        }
    }
}

/// Owned by a server host's software: when turmoil drops it, after every
/// task of the host, the streams set aside close in order.
pub struct Teardown(pub Arc<Sockets>);

impl Drop for Teardown {
    fn drop(&mut self) {
        self.0.close_in_order();
    }
}

/// A turmoil stream that knows its number, shaped as the world says.
pub struct SimStream {
    number: u64,
    inner: Option<TcpStream>,
    sockets: Arc<Sockets>,
    shaping: Shaping,
}

impl SimStream {
    fn new(stream: TcpStream, sockets: &Arc<Sockets>, perturb: Perturb) -> Self {
        let reset = Arc::new(ResetFlag::default());
        let peer = stream
            .peer_addr()
            .ok()
            .and_then(|a| turmoil::reverse_lookup(a.ip()))
            .unwrap_or_default();
        sockets.register(peer, &reset);
        Self {
            number: sockets.number(),
            inner: Some(stream),
            sockets: sockets.clone(),
            shaping: Shaping::new(perturb, reset),
        }
    }

    fn inner(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.inner.as_mut().expect("a stream is only taken when dropped"))
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        if let Some(stream) = self.inner.take() {
            self.sockets.release(self.number, stream);
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let most = ready!(this.shaping.before_read(cx, buf.remaining()))?;
        let got = ready!(read_limited(buf, most, |part| this.inner().poll_read(cx, part)))?;
        this.shaping.after_read(got);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let most = ready!(this.shaping.before_write(cx, buf.len()))?;
        let written = ready!(this.inner().poll_write(cx, &buf[..most.min(buf.len())]))?;
        this.shaping.after_write(written);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner().poll_shutdown(cx)
    }
}

/// Simulated TCP. Every server is its own turmoil host, named after the
/// server, so a neighbour's "host" is its turmoil host name.
/// Connections to and from the client port are never perturbed (a reply
/// lost to the network is not a herd bug); link connections are.
#[derive(Clone)]
pub struct SimNet {
    sockets: Arc<Sockets>,
    client_port: u16,
    perturb: Perturb,
}

impl SimNet {
    pub fn new(sockets: Arc<Sockets>, client_port: u16, perturb: Perturb) -> Self {
        Self {
            sockets,
            client_port,
            perturb,
        }
    }
}

/// A listener on a turmoil host.
pub struct SimListener {
    listener: turmoil::net::TcpListener,
    sockets: Arc<Sockets>,
    perturb: Perturb,
}

impl Listener for SimListener {
    type Stream = SimStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, addr) = self.listener.accept().await?;
        Ok((SimStream::new(stream, &self.sockets, self.perturb), addr))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Net for SimNet {
    type Stream = SimStream;
    type Listener = SimListener;

    async fn bind(&self, _host: &str, port: u16) -> io::Result<Self::Listener> {
        // turmoil only binds the unspecified address: the host is the
        // turmoil host this code runs on, whatever the config says.
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?;
        let clients = port == self.client_port && port != 0;
        Ok(SimListener {
            listener,
            sockets: self.sockets.clone(),
            perturb: if clients { Perturb::default() } else { self.perturb },
        })
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        let stream = TcpStream::connect((host, port)).await?;
        Ok(SimStream::new(stream, &self.sockets, self.perturb))
    }
}
