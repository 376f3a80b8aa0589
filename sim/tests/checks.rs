//! The checkers themselves must catch what they claim to catch.

use std::sync::Arc;

use herd::config::HerdConfig;
use herd::server::ServerState;
use herd_sim::checks::{parse_at, Book, States};

fn state(name: &str) -> Arc<ServerState> {
    ServerState::new(name, Arc::new(HerdConfig::default_herd()))
}

fn at(line: &str) -> herd::protocol::Update {
    parse_at(line).expect("a valid AT line")
}

#[test]
fn an_update_no_client_sent_breaks_the_invariant() {
    let mut book = Book::default();
    book.note_sent("Goloman", b"IAMAT kiwi +01.000000+001.000000 100\n");
    let goloman = state("Goloman");
    goloman.apply(
        at("AT Goloman +0.000000001 kiwi +01.000000+001.000000 100"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    let states = States::from([("Goloman".to_string(), goloman.clone())]);
    assert_eq!(book.check_invariants(&states), Ok(()));

    // Same client and time, but a location the client never sent.
    goloman.apply(
        at("AT Goloman +0.000000001 kiwi +02.000000+002.000000 101"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    let err = book.check_invariants(&states).unwrap_err();
    assert!(err.contains("no client sent"), "{err}");
}

#[test]
fn an_update_claiming_the_wrong_origin_breaks_the_invariant() {
    let mut book = Book::default();
    book.note_sent("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    let welsh = state("Welsh");
    welsh.apply(
        at("AT Goloman +0.000000001 kiwi +01.000000+001.000000 100"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    let states = States::from([("Welsh".to_string(), welsh)]);
    assert!(book.check_invariants(&states).is_err());
}

#[test]
fn going_back_in_client_time_breaks_the_invariant() {
    let mut book = Book::default();
    book.note_sent(
        "Hands",
        b"IAMAT kiwi +01.000000+001.000000 100\nIAMAT kiwi +01.000000+001.000000 200\n",
    );
    let newer = state("Hands");
    newer.apply(
        at("AT Hands +0.000000001 kiwi +01.000000+001.000000 200"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    book.check_invariants(&States::from([("Hands".to_string(), newer)]))
        .unwrap();
    // The same server name now shows an older update (without a restart
    // the simulator would have to be told about).
    let older = state("Hands");
    older.apply(
        at("AT Hands +0.000000001 kiwi +01.000000+001.000000 100"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    let states = States::from([("Hands".to_string(), older)]);
    let err = book.check_invariants(&states).unwrap_err();
    assert!(err.contains("went back in time"), "{err}");
    // After a restart the history starts again.
    book.forget("Hands");
    assert_eq!(book.check_invariants(&states), Ok(()));
}

#[test]
fn convergence_wants_the_newest_told_update_everywhere() {
    let mut book = Book::default();
    book.note_sent("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    book.note_sent("Welsh", b"IAMAT kiwi +02.000000+002.000000 200\n");
    book.note_reply("AT Hands +0.000000001 kiwi +01.000000+001.000000 100\n");
    book.note_reply("AT Welsh +0.000000001 kiwi +02.000000+002.000000 200\n");
    // An AT line for something never sent does not count.
    book.note_reply("AT Welsh +0.000000001 ghost +02.000000+002.000000 200\n");
    assert_eq!(book.clients_told(), 1);
    let hands = state("Hands");
    hands.apply(
        at("AT Hands +0.000000001 kiwi +01.000000+001.000000 100"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    let states = States::from([("Hands".to_string(), hands.clone())]);
    let behind = book.check_converged(&states).unwrap_err();
    assert!(behind.contains("Hands holds AT Hands"), "{behind}");
    hands.apply(
        at("AT Welsh +0.000000001 kiwi +02.000000+002.000000 200"),
        herd::observe::Source::Client(1),
        &[],
        None,
        Default::default(),
    );
    assert_eq!(book.check_converged(&states), Ok(()));
}
