//! The layers of a diagram, drawn on a laid-out page: host time lines,
//! fault spans, convergence and failure, messages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::axis::{ms, seconds, Axis};
use super::labels::{text as label_text, Placed};
use super::style::span_colour;
use super::{COLUMN, LEFT};
use crate::observe::flow::{Flow, Message, Span};

/// A line sent this close to the end of the run and not received is
/// drawn as still on its way rather than lost.
pub const IN_FLIGHT: Duration = Duration::from_millis(100);

/// Where everything goes.
pub(super) struct Page<'f> {
    pub flow: &'f Flow,
    pub axis: Axis,
    /// Every host left to right, with the x of its time line and whether
    /// it is a server.
    pub hosts: Vec<(&'f str, f64, bool)>,
    pub width: f64,
    pub top: f64,
    pub bottom: f64,
    /// The window drawn, in ms.
    pub from: f64,
    pub to: f64,
}

impl Page<'_> {
    fn x_of(&self, name: &str) -> Option<f64> {
        self.hosts.iter().find(|(h, ..)| *h == name).map(|(_, x, _)| *x)
    }

    fn inside(&self, t: Duration) -> bool {
        ms(t) >= self.from && ms(t) <= self.to
    }
}

pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Long lines (WHATSAT replies) cut for the hover text.
fn hover_text(text: &str) -> String {
    const KEEP: usize = 600;
    if text.chars().count() <= KEEP {
        return text.to_string();
    }
    let cut: String = text.chars().take(KEEP).collect();
    format!("{cut}... ({} bytes)", text.len())
}

/// Long client labels make wide columns; keep names short.
fn short_host(host: &str) -> String {
    if host.chars().count() <= 18 {
        host.to_string()
    } else {
        let cut: String = host.chars().take(16).collect();
        format!("{cut}…")
    }
}

/// Host names and time lines.
pub(super) fn hosts(s: &mut String, page: &Page, names_y: f64) {
    let _ = writeln!(s, r#"<g class="hosts">"#);
    for (host, x, server) in &page.hosts {
        let kind = if *server { "server" } else { "client" };
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{names_y:.1}" text-anchor="middle" class="host {kind}">{}</text>"#,
            xml(&short_host(host))
        );
        let _ = writeln!(
            s,
            r#"<line class="timeline {kind}" data-host="{}" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#,
            xml(host),
            page.top,
            page.bottom
        );
    }
    s.push_str("</g>\n");
}

/// Faults, shaded.
pub(super) fn spans(s: &mut String, page: &Page) {
    let _ = writeln!(s, r#"<g class="spans">"#);
    for span in &page.flow.spans {
        span_of(s, span, page);
    }
    s.push_str("</g>\n");
}

fn span_of(s: &mut String, span: &Span, page: &Page) {
    let a = ms(span.from);
    let b = span.to.map_or(ms(page.flow.end), ms);
    if b < page.from || a > page.to {
        return;
    }
    let y0 = page.axis.y(a.max(page.from));
    let y1 = page.axis.y(b.min(page.to)).max(y0 + 3.0);
    let down = span.what == "crash" || span.what == "silent death";
    let until = span.to.map_or("the end".to_string(), |t| seconds(ms(t)));
    let _ = writeln!(
        s,
        r#"<g class="span" data-what="{}"><title>{} {} from {} to {until}</title>"#,
        span.what,
        span.what,
        xml(&span.label),
        seconds(a)
    );
    let mut first = true;
    for server in &span.servers {
        let Some(x) = page.x_of(server) else { continue };
        let w = if down { 26.0 } else { COLUMN - 16.0 };
        let (fill, opacity) = span_colour(span.what, span.far.contains(server));
        let paint = if down {
            r#"fill="url(#hatch)""#.to_string()
        } else {
            format!(r#"fill="{fill}" fill-opacity="{opacity}""#)
        };
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{y0:.1}" width="{w:.1}" height="{:.1}" {paint}/>"#,
            x - w / 2.0,
            y1 - y0
        );
        if first {
            let label = if down {
                span.what.to_string()
            } else {
                format!("{} {}", span.what, span.label)
            };
            let _ = writeln!(
                s,
                r#"<text class="span-label" x="{:.1}" y="{:.1}">{}</text>"#,
                x - w / 2.0 + 3.0,
                y0 + 12.0,
                xml(&label)
            );
            first = false;
        }
    }
    s.push_str("</g>\n");
}

/// The moments `converged` steps passed, and the failure.
pub(super) fn moments(s: &mut String, page: &Page) {
    let (left, right) = (LEFT, page.width - 12.0);
    let _ = writeln!(s, r#"<g class="converged">"#);
    for (t, text) in page.flow.converged.iter().filter(|(t, _)| page.inside(*t)) {
        let y = page.axis.y(ms(*t));
        let _ = writeln!(
            s,
            r#"<g><title>{} converged {}</title><line x1="{left:.1}" x2="{right:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">converged {}</text></g>"#,
            seconds(ms(*t)),
            xml(text),
            right - 2.0,
            y - 4.0,
            xml(text)
        );
    }
    if let Some((t, why)) = page.flow.failed.as_ref().filter(|(t, _)| page.inside(*t)) {
        let y = page.axis.y(ms(*t));
        let _ = writeln!(
            s,
            r#"<g class="failed"><title>{} FAIL {}</title><line x1="{left:.1}" x2="{right:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">FAIL</text></g>"#,
            seconds(ms(*t)),
            xml(why),
            right - 2.0,
            y - 4.0
        );
    }
    s.push_str("</g>\n");
}

/// Every message shown, clipped to the window.
pub(super) fn messages(s: &mut String, page: &Page, shown: &[&Message]) {
    let _ = writeln!(
        s,
        r#"<clipPath id="window"><rect x="0" y="{:.1}" width="{:.0}" height="{:.1}"/></clipPath>"#,
        page.top,
        page.width,
        page.axis.bottom() - page.top
    );
    let _ = writeln!(s, r#"<g class="messages" clip-path="url(#window)">"#);
    // Lines sent and received at the same moments between the same hosts
    // (a dump, or a hello beside a dump) would hide each other: each one
    // more is drawn a little lower, up to a few.
    type Moment = Option<Duration>;
    let mut alike: BTreeMap<(&str, &str, Moment, Moment), usize> = BTreeMap::new();
    let mut placed = Placed::default();
    let mut labels = String::new();
    for m in shown {
        let n = alike
            .entry((m.from.as_str(), m.to.as_str(), m.sent, m.received))
            .or_insert(0);
        let shift = (*n).min(3) as f64 * 3.0;
        *n += 1;
        let Some((start, end)) = message(s, m, page, shift) else {
            continue;
        };
        if let Some((text, (x, y))) =
            label_text(m).and_then(|t| placed.place(&t, start, end).map(|at| (t, at)))
        {
            let _ = writeln!(
                labels,
                r#"<text class="label {}" x="{x:.1}" y="{y:.1}">{}</text>"#,
                m.kind.class(),
                xml(&text)
            );
        }
    }
    s.push_str(&labels);
    s.push_str("</g>\n");
}

/// Draws one message; where its line starts and ends.
fn message(s: &mut String, m: &Message, page: &Page, shift: f64) -> Option<((f64, f64), (f64, f64))> {
    let (Some(x1), Some(x2)) = (page.x_of(&m.from), page.x_of(&m.to)) else {
        return None;
    };
    let typical = ms(page.flow.median_delay);
    let mut classes = format!("m {}", m.kind.class());
    let (t1, t2, lost) = match (m.sent, m.received) {
        (Some(a), Some(b)) => (ms(a), ms(b), false),
        (Some(a), None) => (ms(a), ms(a) + typical, true),
        (None, Some(b)) => (ms(b) - typical, ms(b), false),
        (None, None) => return None,
    };
    let (y1, y2) = (page.axis.y(t1) + shift, page.axis.y(t2) + shift);
    // Sent just before the run ended: still on its way, not lost.
    let in_flight = lost && m.sent.is_some_and(|t| t + IN_FLIGHT >= page.flow.end);
    let lost = lost && !in_flight;
    if in_flight {
        classes.push_str(" in-flight");
    }
    // Lost lines stop halfway, with a cross.
    let (x2, y2) = if lost {
        classes.push_str(" lost");
        (x1 + (x2 - x1) * 0.45, y1 + (y2 - y1) * 0.45)
    } else {
        (x2, y2)
    };
    let sent = m.sent.map_or("?".to_string(), |t| seconds(ms(t)));
    let received = match m.received {
        Some(t) => seconds(ms(t)),
        None if in_flight => "still in flight at the end".to_string(),
        None => "lost".to_string(),
    };
    let _ = write!(
        s,
        r#"<g class="{classes}"><title>{} {} → {} {sent} → {received}&#10;{}</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}""#,
        xml(m.kind.name()),
        xml(&m.from),
        xml(&m.to),
        xml(&hover_text(&m.text))
    );
    if lost {
        let _ = write!(
            s,
            r#"/><path class="cross" d="M{:.1},{:.1} l6,6 m0,-6 l-6,6"/>"#,
            x2 - 3.0,
            y2 - 3.0
        );
    } else {
        let _ = write!(s, r#" marker-end="url(#head-{})"/>"#, m.kind.class());
    }
    let _ = writeln!(
        s,
        r#"<line class="hit" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"/></g>"#
    );
    Some(((x1, y1), (x2, y2)))
}
