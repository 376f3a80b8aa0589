//! Mutual authentication of a link with the herd secret (`HERD_SECRET`):
//! a challenge and response with HMAC-SHA256 and a fresh nonce from each
//! side, so neither a stranger nor a recording of an earlier handshake can
//! pass for a neighbour.
//!
//! ```text
//! subscriber -> publisher   HERD HELLO <S> <nonce_s>
//! publisher  -> subscriber  HERD CHALLENGE <P> <nonce_p> <mac_p>
//!                           mac_p = HMAC(secret, "publisher" P S nonce_s nonce_p)
//! subscriber -> publisher   HERD PROOF <mac_s>
//!                           mac_s = HMAC(secret, "subscriber" S P nonce_p nonce_s)
//! ```
//!
//! Each MAC binds both names, both nonces and the role, so it cannot be
//! replayed on another link, in another handshake, or back at its sender.
//! Without a secret the MACs are `-` and only the names are checked.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::protocol::NONCE_HEX;

/// The herd secret. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

pub const SECRET_ENV: &str = "HERD_SECRET";

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// From `HERD_SECRET`, if set and not empty.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(SECRET_ENV)
            .map(|v| v.into_encoded_bytes())
            .filter(|v| !v.is_empty())
            .map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

#[derive(Clone, Copy)]
pub enum Side {
    Publisher,
    Subscriber,
}

/// A fresh challenge: 16 random bytes as hex.
pub fn nonce(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; NONCE_HEX / 2];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn mac(secret: &Secret, side: Side, me: &str, peer: &str, their_nonce: &str, my_nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC takes a key of any length");
    let role: &[u8] = match side {
        Side::Publisher => b"herd-link publisher",
        Side::Subscriber => b"herd-link subscriber",
    };
    for part in [
        role,
        me.as_bytes(),
        peer.as_bytes(),
        their_nonce.as_bytes(),
        my_nonce.as_bytes(),
    ] {
        // Length-prefixed, so no two different tuples hash alike.
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// My proof for this handshake, or `None` without a secret.
pub fn prove(
    secret: Option<&Secret>,
    side: Side,
    me: &str,
    peer: &str,
    their_nonce: &str,
    my_nonce: &str,
) -> Option<String> {
    secret.map(|s| {
        hex::encode(
            mac(s, side, me, peer, their_nonce, my_nonce)
                .finalize()
                .into_bytes(),
        )
    })
}

/// Whether `proof` is the peer's correct proof (in constant time). With no
/// secret on our side, a proof must be absent; with one, it must be right.
pub fn verify(
    secret: Option<&Secret>,
    side: Side,
    peer: &str,
    me: &str,
    my_nonce: &str,
    their_nonce: &str,
    proof: Option<&str>,
) -> Result<(), &'static str> {
    match (secret, proof) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err("the neighbour uses a herd secret and this server has none"),
        (Some(_), None) => Err("no proof of the herd secret"),
        (Some(secret), Some(proof)) => {
            let bytes = hex::decode(proof).map_err(|_| "malformed proof")?;
            mac(secret, side, peer, me, my_nonce, their_nonce)
                .verify_slice(&bytes)
                .map_err(|_| "wrong proof of the herd secret")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "00000000000000000000000000000001";
    const NP: &str = "00000000000000000000000000000002";

    #[test]
    fn a_right_proof_passes_and_anything_else_fails() {
        let key = Secret::new("hunter2");
        let p = prove(Some(&key), Side::Publisher, "P", "S", NS, NP);
        assert_eq!(
            verify(Some(&key), Side::Publisher, "P", "S", NS, NP, p.as_deref()),
            Ok(())
        );
        // Another secret, another name, a replayed nonce, the other role.
        let other = Secret::new("hunter3");
        assert!(verify(Some(&other), Side::Publisher, "P", "S", NS, NP, p.as_deref()).is_err());
        assert!(verify(Some(&key), Side::Publisher, "Q", "S", NS, NP, p.as_deref()).is_err());
        assert!(verify(Some(&key), Side::Publisher, "P", "S", NP, NP, p.as_deref()).is_err());
        assert!(verify(Some(&key), Side::Subscriber, "P", "S", NS, NP, p.as_deref()).is_err());
        assert!(verify(Some(&key), Side::Publisher, "P", "S", NS, NP, None).is_err());
        assert!(verify(None, Side::Publisher, "P", "S", NS, NP, p.as_deref()).is_err());
        assert_eq!(verify(None, Side::Publisher, "P", "S", NS, NP, None), Ok(()));
    }

    #[test]
    fn the_secret_never_shows() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(<hidden>)");
    }
}
