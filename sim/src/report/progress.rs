//! Progress of a sweep (`run --runs N`, `explore`, `mutate`) on stderr: a
//! bar when stderr is a terminal, else a plain line every tenth of the way
//! and at the end, so that logs stay short.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    /// `run`, `explore`, `mutate`: starts each plain line.
    name: &'static str,
    /// `runs`, `seeds`: what is counted.
    unit: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    plain: bool,
    /// Wall time is for the reader only; nothing in a run depends on it.
    started: Instant,
}

impl Progress {
    /// Progress over `total` items; nothing at all unless `show`.
    pub fn new(name: &'static str, unit: &'static str, total: u64, show: bool) -> Self {
        let tty = show && std::io::stderr().is_terminal();
        let bar = tty.then(|| {
            let style =
                ProgressStyle::with_template("{prefix} [{bar:32}] {pos}/{len} {msg}  {per_sec}  eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            let bar = ProgressBar::new(total).with_style(style).with_prefix(name);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            name,
            unit,
            total,
            bar,
            plain: show && !tty,
            started: Instant::now(),
        }
    }

    /// `done` items so far; `note` says what came of them (`2 failing`).
    pub fn set(&self, done: u64, note: String) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(note);
            return;
        }
        let every = self.total.div_ceil(10).max(1);
        if self.plain && (done % every == 0 || done == self.total) {
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "{}: {done}/{} {}, {note}, {rate:.1} {}/s",
                self.name, self.total, self.unit, self.unit
            );
        }
    }

    /// Runs `f` (which prints) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
