//! The server's network seam on turmoil's simulated TCP.

use std::io;
use std::net::SocketAddr;

use herd::net::{Listener, Net};

/// Simulated TCP. Every server is its own turmoil host, named after the
/// server, so a neighbour's "host" is its turmoil host name.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimNet;

/// A listener on a turmoil host.
pub struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        self.0.accept().await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Net for SimNet {
    type Stream = turmoil::net::TcpStream;
    type Listener = SimListener;

    async fn bind(&self, _host: &str, port: u16) -> io::Result<Self::Listener> {
        // turmoil only binds the unspecified address: the host is the
        // turmoil host this code runs on, whatever the config says.
        turmoil::net::TcpListener::bind(("0.0.0.0", port))
            .await
            .map(SimListener)
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        turmoil::net::TcpStream::connect((host, port)).await
    }
}
