//! herd: a proxy herd of TCP servers that accept client locations, flood
//! them to each other, and answer nearby-place queries through Google
//! Places. See SPEC.md for the protocol and README.md for the layout.

pub mod bugs;
pub mod clock;
pub mod config;
pub mod local;
pub mod log;
pub mod net;
pub mod observe;
pub mod places;
pub mod protocol;
pub mod server;
pub mod store;
