//! herd: a proxy herd of TCP servers that accept client locations, flood
//! them to each other, and answer nearby-place queries through Google
//! Places. See SPEC.md for the protocol and README.md for the layout.

#[cfg(feature = "bug-catalogue")]
pub mod bugs;
#[cfg(not(feature = "bug-catalogue"))]
mod bugs;
pub mod clock;
pub mod config;
#[cfg(feature = "test-support")]
pub mod local;
pub mod log;
pub mod net;
pub mod observe;
pub mod places;
pub mod protocol;
pub mod server;
pub mod store;
