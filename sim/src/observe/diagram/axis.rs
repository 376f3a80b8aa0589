//! Simulated time to page height. Busy stretches (messages, faults and
//! convergence within `QUIET_MS` of each other) are drawn at a fixed scale;
//! each quiet stretch between them becomes a break labelled with the time
//! it skips.

use std::fmt::Write as _;
use std::time::Duration;

use super::LEFT;

/// Vertical pixels per simulated millisecond while things happen.
const PX_PER_MS: f64 = 12.0;
/// The most pixels the active stretches may take, all together.
const MAX_ACTIVE_PX: f64 = 24_000.0;
/// The least height the active stretches get, unless that would take
/// more than 80 px per millisecond.
const MIN_ACTIVE_PX: f64 = 800.0;
/// A quiet stretch longer than this becomes a break.
const QUIET_MS: f64 = 30.0;
/// Room kept before and after each busy stretch.
const PAD_MS: f64 = 3.0;
const BREAK_PX: f64 = 34.0;

/// Piecewise linear through knots.
pub(super) struct Axis {
    knots: Vec<(f64, f64)>,
    /// (y, skipped ms) of each break.
    breaks: Vec<(f64, f64)>,
    /// (ms, y) of each busy stretch's start, its end, and the tick step inside.
    stretches: Vec<(f64, f64, f64, f64)>,
    /// Pixels per ms in busy stretches; also beyond the window's edges,
    /// where lines run on until the window clips them.
    px: f64,
}

impl Axis {
    /// The axis for busy moments `times` (ms), from `from` to `to`, starting at `top`.
    pub(super) fn new(times: &mut [f64], from: f64, to: f64, top: f64) -> Self {
        times.sort_by(f64::total_cmp);
        let mut stretches: Vec<(f64, f64)> = Vec::new();
        for &t in times.iter().filter(|&&t| t >= from && t <= to) {
            match stretches.last_mut() {
                Some(last) if t - last.1 <= QUIET_MS => last.1 = t,
                _ => stretches.push((t, t)),
            }
        }
        let stretches: Vec<(f64, f64)> = stretches
            .into_iter()
            .map(|(a, b)| ((a - PAD_MS).max(from), (b + PAD_MS).min(to)))
            .collect();
        let active: f64 = stretches.iter().map(|(a, b)| b - a).sum();
        // A little activity (a short window) is spread over some height.
        let px = if active * PX_PER_MS > MAX_ACTIVE_PX {
            MAX_ACTIVE_PX / active
        } else {
            (MIN_ACTIVE_PX / active.max(1.0)).clamp(PX_PER_MS, 80.0)
        };
        let mut axis = Axis {
            knots: vec![(from, top)],
            breaks: Vec::new(),
            stretches: Vec::new(),
            px,
        };
        let mut y = top;
        let mut t = from;
        for (a, b) in stretches {
            if a > t {
                y = axis.gap(y, t, a);
                axis.knots.push((a, y));
            }
            let start_y = y;
            y += (b - a) * px;
            axis.knots.push((b, y));
            axis.stretches.push((a, start_y, b, tick_step(px)));
            t = b;
        }
        if to > t {
            y = axis.gap(y, t, to);
            axis.knots.push((to, y));
        }
        axis
    }

    /// The height after the quiet time from `a` to `b`, starting at `y`.
    fn gap(&mut self, y: f64, a: f64, b: f64) -> f64 {
        if b - a > QUIET_MS {
            self.breaks.push((y + BREAK_PX / 2.0, b - a));
            y + BREAK_PX
        } else {
            y + (b - a) * self.px
        }
    }

    pub(super) fn y(&self, ms: f64) -> f64 {
        let k = &self.knots;
        if ms <= k[0].0 {
            return k[0].1 - (k[0].0 - ms) * self.px;
        }
        for w in k.windows(2) {
            let ((t0, y0), (t1, y1)) = (w[0], w[1]);
            if ms <= t1 {
                return if t1 > t0 {
                    y0 + (ms - t0) / (t1 - t0) * (y1 - y0)
                } else {
                    y1
                };
            }
        }
        let (t, y) = k[k.len() - 1];
        y + (ms - t) * self.px
    }

    pub(super) fn bottom(&self) -> f64 {
        self.knots[self.knots.len() - 1].1
    }

    /// Time labels of each busy stretch, and the breaks.
    pub(super) fn draw(&self, s: &mut String, width: f64) {
        let _ = writeln!(s, r#"<g class="axis">"#);
        for &(a, y, b, step) in &self.stretches {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 8.0,
                y + 4.0,
                seconds(a)
            );
            let mut t = (a / step).floor() * step + step;
            while t < b - step * 0.5 {
                let ty = self.y(t);
                if ty - y > 24.0 {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#888">{}</text><line x1="{:.1}" x2="{:.1}" y1="{ty:.1}" y2="{ty:.1}" stroke="#ccc"/>"##,
                        LEFT - 8.0,
                        ty + 4.0,
                        seconds(t),
                        LEFT - 4.0,
                        LEFT
                    );
                }
                t += step;
            }
        }
        for &(y, skipped) in &self.breaks {
            let _ = writeln!(
                s,
                r#"<g class="break"><line x1="{LEFT:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><line x1="{LEFT:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">+{}</text></g>"#,
                width - 12.0,
                y - 3.0,
                y - 3.0,
                width - 12.0,
                y + 3.0,
                y + 3.0,
                LEFT - 8.0,
                y + 4.0,
                skip_text(skipped)
            );
        }
        s.push_str("</g>\n");
    }
}

/// Milliseconds between time labels, at least ~48 px apart.
fn tick_step(px_per_ms: f64) -> f64 {
    let want = 48.0 / px_per_ms;
    [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
    ]
    .into_iter()
    .find(|&s| s >= want)
    .unwrap_or(10_000.0)
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(super) fn seconds(ms: f64) -> String {
    format!("{:.3} s", ms / 1000.0)
}

fn skip_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}
