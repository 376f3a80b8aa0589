//! What a run looked like, as data and for people. Each server incarnation
//! has a `Recorder` (a `herd::observe::Observer`) that stamps every event
//! with simulated time and host and keeps it, owned and typed, in the run's
//! `Log`, beside the client hosts' and the driver's own records
//! (`record.rs`). Everything else here reads those records: the text trace
//! (`trace.rs`), the messages paired send-to-receive (`flow/`), the
//! propagation statistics (`stats.rs`), the space-time diagram
//! (`diagram/`) and the propagation plot (`plot.rs`). Nothing here judges a run; that is `oracle/`.

pub mod diagram;
pub mod flow;
pub mod plot;
pub mod record;
pub mod recorder;
pub mod stats;
pub mod trace;

pub use record::{ClientEvent, End, Fault, Note, Peer, Record, ServerEvent, Source, What};
pub use recorder::{sim_now, Log, Recorder, EPOCH_SECS};
