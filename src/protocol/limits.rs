//! What a server accepts beyond the syntax: client IDs no longer than its
//! limit, and client times not too far ahead of its own clock (so no one
//! can pin a location with a time from the far future). Pure checks on a
//! parsed command; the server supplies the limits and the time.

use super::{ClientCommand, ClientTime, ParseError};

const NANOS_PER_MS: i128 = 1_000_000;

/// The server's limits on what a valid command may carry (from `[tuning]`,
/// see `Tuning::client_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Longest client ID accepted, in bytes.
    pub max_client_id_bytes: usize,
    /// How far a client time may be ahead of the server's clock.
    pub max_future_ms: u64,
}

impl ClientLimits {
    /// Checks a parsed command: its client ID (IAMAT and WHATSAT), and its
    /// time against `now_nanos`, the server's clock (IAMAT).
    pub fn check(&self, command: &ClientCommand, now_nanos: i128) -> Result<(), ParseError> {
        match command {
            ClientCommand::IAmAt { client, time, .. } => {
                self.check_client_id(client)?;
                self.check_time(time, now_nanos)
            }
            ClientCommand::WhatsAt { client, .. } => self.check_client_id(client),
        }
    }

    pub fn check_client_id(&self, client: &str) -> Result<(), ParseError> {
        if client.len() > self.max_client_id_bytes {
            return Err(ParseError::ClientIdTooLong {
                max: self.max_client_id_bytes,
            });
        }
        Ok(())
    }

    /// A time exactly `max_future_ms` ahead is accepted; any time in the
    /// past is.
    pub fn check_time(&self, time: &ClientTime, now_nanos: i128) -> Result<(), ParseError> {
        // i128 holds u64::MAX seconds in nanoseconds many times over.
        if time.nanos() - now_nanos > i128::from(self.max_future_ms) * NANOS_PER_MS {
            return Err(ParseError::TimeTooFarAhead {
                max_ms: self.max_future_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_client_line;

    const LIMITS: ClientLimits = ClientLimits {
        max_client_id_bytes: 4,
        max_future_ms: 1_000,
    };
    /// The server's clock in these tests: 100 s after the epoch.
    const NOW: i128 = 100_000_000_000;

    fn check(line: &str) -> Result<(), ParseError> {
        LIMITS.check(&parse_client_line(line.as_bytes()).unwrap(), NOW)
    }

    #[test]
    fn client_ids_are_counted_in_bytes() {
        assert_eq!(check("IAMAT abcd +0+0 1"), Ok(()));
        assert_eq!(
            check("IAMAT abcde +0+0 1"),
            Err(ParseError::ClientIdTooLong { max: 4 })
        );
        // Two characters, but five bytes.
        assert_eq!(
            check("IAMAT éé. +0+0 1"),
            Err(ParseError::ClientIdTooLong { max: 4 })
        );
        assert_eq!(check("WHATSAT abcd 1 1"), Ok(()));
        assert_eq!(
            check("WHATSAT abcde 1 1"),
            Err(ParseError::ClientIdTooLong { max: 4 })
        );
    }

    #[test]
    fn times_up_to_the_limit_ahead_are_accepted() {
        assert_eq!(check("IAMAT a +0+0 101"), Ok(()));
        assert_eq!(
            check("IAMAT a +0+0 101.000000001"),
            Err(ParseError::TimeTooFarAhead { max_ms: 1_000 })
        );
        assert_eq!(check("IAMAT a +0+0 0"), Ok(()));
        assert_eq!(
            check("IAMAT a +0+0 18446744073709551615.999999999"),
            Err(ParseError::TimeTooFarAhead { max_ms: 1_000 })
        );
    }

    #[test]
    fn a_zero_limit_refuses_any_time_ahead() {
        let limits = ClientLimits {
            max_future_ms: 0,
            ..LIMITS
        };
        let time = |t: &str| ClientTime::parse(t).unwrap();
        assert_eq!(limits.check_time(&time("100"), NOW), Ok(()));
        assert_eq!(
            limits.check_time(&time("100.000000001"), NOW),
            Err(ParseError::TimeTooFarAhead { max_ms: 0 })
        );
    }

    #[test]
    fn the_errors_say_the_limit() {
        assert_eq!(
            ParseError::ClientIdTooLong { max: 256 }.to_string(),
            "client ID longer than 256 bytes"
        );
        assert_eq!(
            ParseError::TimeTooFarAhead { max_ms: 86_400_000 }.to_string(),
            "client time more than 86400000 ms ahead of the server's clock"
        );
    }
}
