//! What a client can read back. SPEC §6: once a client holds the AT reply
//! to its IAMAT, every server the origin can reach over live links answers
//! WHATSAT with that update or a newer one. And once the herd has
//! converged, every server answers with the newest update any client was
//! told of.

use std::collections::BTreeMap;

use super::shown;
use crate::oracle::entry::Entry;
use crate::oracle::text::lines;
use crate::oracle::violation::Violation;

/// The update a WHATSAT answer starts with.
fn answered(answer: &[u8]) -> Option<Entry> {
    let first = lines(answer).next()?;
    Entry::from_at_line(&String::from_utf8_lossy(first))
}

/// `reader` answered `client`'s WHATSAT, asked right after `client` held
/// the AT reply for `acked`, with `answer` (empty if it never answered).
pub fn check_read(client: &str, acked: &Entry, reader: &str, answer: &[u8]) -> Result<(), Violation> {
    match answered(answer) {
        Some(seen) if seen.client == acked.client && seen.at_least(acked) => Ok(()),
        _ => Err(Violation::StaleRead {
            client: client.to_string(),
            reader: reader.to_string(),
            acked: acked.to_string(),
            seen: shown(answer),
        }),
    }
}

/// One WHATSAT per (server, client) after convergence: `answers` are
/// (server, client ID, answer); `told` the newest update each client ID
/// was told of.
pub fn check_polls(
    told: &BTreeMap<String, Entry>,
    answers: &[(String, String, Vec<u8>)],
) -> Result<(), Violation> {
    for (server, client, answer) in answers {
        let Some(want) = told.get(client) else {
            continue;
        };
        if !answered(answer).is_some_and(|seen| seen.client == *client && seen.at_least(want)) {
            return Err(Violation::StalePoll {
                server: server.clone(),
                client: client.clone(),
                want: want.to_string(),
                seen: shown(answer),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> Entry {
        Entry::from_at_line(line).unwrap()
    }

    const ACKED: &str = "AT Hands +0.003000000 kiwi +1.0+1.0 1767225600.5";

    #[test]
    fn a_read_must_show_the_acknowledged_update_or_newer() {
        let acked = at(ACKED);
        let same = format!("{ACKED}\n{{\"results\": []}}\n\n");
        assert_eq!(check_read("kiwi", &acked, "Welsh", same.as_bytes()), Ok(()));
        let newer = b"AT Welsh +0.001000000 kiwi +2.0+2.0 1767225601\n{}\n\n";
        assert_eq!(check_read("kiwi", &acked, "Welsh", newer), Ok(()));
        let older = b"AT Welsh +0.001000000 kiwi +2.0+2.0 1767225599\n{}\n\n";
        assert!(matches!(
            check_read("kiwi", &acked, "Welsh", older),
            Err(Violation::StaleRead { .. })
        ));
        let unknown = b"? WHATSAT kiwi 10 1\n";
        assert!(check_read("kiwi", &acked, "Welsh", unknown).is_err());
        assert!(
            check_read("kiwi", &acked, "Welsh", b"").is_err(),
            "no answer at all"
        );
    }

    #[test]
    fn polls_must_show_the_newest_told_update() {
        let told = BTreeMap::from([("kiwi".to_string(), at(ACKED))]);
        let good = (
            "Welsh".to_string(),
            "kiwi".to_string(),
            format!("{ACKED}\n{{}}\n\n").into_bytes(),
        );
        assert_eq!(check_polls(&told, std::slice::from_ref(&good)), Ok(()));
        let stale = (
            "Wilkes".to_string(),
            "kiwi".to_string(),
            b"AT Wilkes +0.001000000 kiwi +2.0+2.0 1767225599\n{}\n\n".to_vec(),
        );
        let err = check_polls(&told, &[good, stale]).unwrap_err();
        assert!(matches!(err, Violation::StalePoll { ref server, .. } if server == "Wilkes"));
    }
}
