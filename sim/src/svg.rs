//! A space-time diagram of one run, as a standalone SVG file: one vertical
//! time line per server and per client host, one arrow per message
//! (coloured by kind, the line's text as its hover `<title>`), faults as
//! shaded spans, and the moments the herd converged. Time runs down the
//! page. Quiet stretches (nothing but heartbeats) are cut out and shown as
//! a break with the time skipped, so a flood of a few milliseconds stays
//! readable in a run of many seconds. See docs/scenarios.md, "Diagrams".

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::flow::{self, Flow, Kind, Message, Span};
use crate::trace::Record;

#[derive(Debug, Clone, Default)]
pub struct SvgOptions {
    /// Lines of text at the top (scenario, seed, statistics, ...).
    pub title: Vec<String>,
    /// Draw only what happens between these simulated milliseconds.
    pub window_ms: Option<(u64, u64)>,
    /// Draw heartbeats (faint); by default they are left out.
    pub heartbeats: bool,
}

/// The diagram of a run from its records (`run::Report::records`) and the
/// herd's server names in config order.
pub fn render(records: &[Record], servers: &[String], options: &SvgOptions) -> String {
    render_flow(&flow::build(records, servers), options)
}

const LEFT: f64 = 96.0;
const COLUMN: f64 = 132.0;
const HEAD_LINE: f64 = 18.0;
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
/// A line sent this close to the end of the run and not received is
/// drawn as still on its way rather than lost.
pub const IN_FLIGHT: Duration = Duration::from_millis(100);

fn colour(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "#1f77b4",
        Kind::Reply => "#17a2b8",
        Kind::Update => "#d95f02",
        Kind::CatchUp => "#7b3fb5",
        Kind::Hello => "#555555",
        Kind::Heartbeat => "#9a9a9a",
    }
}

fn span_colour(what: &str) -> (&'static str, f64) {
    match what {
        "partition" => ("#e7298a", 0.16),
        "one-way partition" => ("#e6ab02", 0.22),
        "hold" => ("#66a61e", 0.16),
        _ => ("#444444", 0.28),
    }
}

/// Simulated time to page height: piecewise linear through knots.
struct Axis {
    knots: Vec<(f64, f64)>,
    /// (y, skipped ms) of each break.
    breaks: Vec<(f64, f64)>,
    /// (ms, y) of each busy stretch's start, and the tick step inside.
    stretches: Vec<(f64, f64, f64, f64)>,
    /// Pixels per ms in busy stretches; also beyond the window's edges,
    /// where lines run on until the window clips them.
    px: f64,
}

impl Axis {
    fn new(times: &mut [f64], from: f64, to: f64, top: f64) -> Self {
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
                y += if a - t > QUIET_MS { BREAK_PX } else { (a - t) * px };
                if a - t > QUIET_MS {
                    axis.breaks.push((y - BREAK_PX / 2.0, a - t));
                }
                axis.knots.push((a, y));
            }
            let start_y = y;
            y += (b - a) * px;
            axis.knots.push((b, y));
            axis.stretches.push((a, start_y, b, tick_step(px)));
            t = b;
        }
        if to > t {
            y += if to - t > QUIET_MS {
                BREAK_PX
            } else {
                (to - t) * px
            };
            if to - t > QUIET_MS {
                axis.breaks.push((y - BREAK_PX / 2.0, to - t));
            }
            axis.knots.push((to, y));
        }
        axis
    }

    fn y(&self, ms: f64) -> f64 {
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

    fn bottom(&self) -> f64 {
        self.knots[self.knots.len() - 1].1
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn seconds(ms: f64) -> String {
    format!("{:.3} s", ms / 1000.0)
}

fn xml(text: &str) -> String {
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

/// Whether a message shows: its kind is drawn and it touches the window.
fn shown(m: &Message, options: &SvgOptions, from: f64, to: f64) -> bool {
    if m.kind == Kind::Heartbeat && !options.heartbeats {
        return false;
    }
    let inside = |t: Option<Duration>| t.is_some_and(|t| ms(t) >= from && ms(t) <= to);
    inside(m.sent) || inside(m.received)
}

/// The diagram of an already built flow.
pub fn render_flow(flow: &Flow, options: &SvgOptions) -> String {
    let end = ms(flow.end);
    let (from, to) = match options.window_ms {
        Some((a, b)) => (a as f64, (b as f64).max(a as f64 + 1.0)),
        None => (0.0, end.max(1.0)),
    };
    let hosts: Vec<&String> = flow.servers.iter().chain(flow.clients.iter()).collect();
    let x_of = |name: &str| {
        hosts.iter().position(|h| h.as_str() == name).map(|i| {
            LEFT + COLUMN / 2.0 + i as f64 * COLUMN + if i >= flow.servers.len() { 24.0 } else { 0.0 }
        })
    };
    let messages: Vec<&Message> = flow
        .messages
        .iter()
        .filter(|m| shown(m, options, from, to))
        .collect();

    // What sets the busy stretches: messages (not heartbeats), faults and
    // convergence.
    let mut times: Vec<f64> = Vec::new();
    for m in messages.iter().filter(|m| m.kind != Kind::Heartbeat) {
        times.extend(m.sent.map(ms));
        times.extend(m.received.map(ms));
    }
    for s in &flow.spans {
        times.push(ms(s.from));
        times.extend(s.to.map(ms));
    }
    times.extend(flow.converged.iter().map(|(t, _)| ms(*t)));
    times.extend(flow.failed.iter().map(|(t, _)| ms(*t)));

    let title_h = HEAD_LINE * options.title.len().max(1) as f64 + 8.0;
    let legend_y = title_h + 10.0;
    let names_y = legend_y + 52.0;
    let top = names_y + 22.0;
    let axis = Axis::new(&mut times, from, to, top);
    let bottom = axis.bottom() + 16.0;
    let width = LEFT + COLUMN * hosts.len() as f64 + 48.0 + if flow.clients.is_empty() { 0.0 } else { 24.0 };
    let longest = options.title.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let width = width.max(900.0).max((longest as f64 * 6.8 + 24.0).min(1400.0));
    // Title lines longer than the page are cut; the whole text is their hover.
    let fits = ((width - 24.0) / 6.8) as usize;
    let height = bottom + 30.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"#
    );
    s.push_str(STYLE);
    s.push_str("<defs>\n");
    for kind in Kind::ALL {
        let _ = writeln!(
            s,
            r#"<marker id="head-{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"#,
            kind.class(),
            colour(kind)
        );
    }
    s.push_str(r##"<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#444" fill-opacity="0.12"/><line x1="0" y1="0" x2="0" y2="6" stroke="#444" stroke-width="2" stroke-opacity="0.45"/></pattern>"##);
    s.push_str("\n</defs>\n");
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);

    // Title.
    for (i, line) in options.title.iter().enumerate() {
        let weight = if i == 0 {
            r#" font-weight="bold" font-size="14""#
        } else {
            ""
        };
        // The first line is bold and larger: fewer characters fit.
        let fits = if i == 0 { fits * 68 / 86 } else { fits };
        let shown = if line.chars().count() > fits {
            let cut: String = line.chars().take(fits.saturating_sub(1)).collect();
            format!("{cut}…")
        } else {
            line.clone()
        };
        let _ = writeln!(
            s,
            r#"<text x="12" y="{:.1}"{weight}><title>{}</title>{}</text>"#,
            18.0 + i as f64 * HEAD_LINE,
            xml(line),
            xml(&shown)
        );
    }
    legend(&mut s, legend_y, options, flow);

    // Host names and time lines.
    let _ = writeln!(s, r#"<g class="hosts">"#);
    for (i, host) in hosts.iter().enumerate() {
        let Some(x) = x_of(host) else { continue };
        let server = i < flow.servers.len();
        let class = if server { "host server" } else { "host client" };
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{names_y:.1}" text-anchor="middle" class="{class}">{}</text>"#,
            xml(&short_host(host))
        );
        let _ = writeln!(
            s,
            r#"<line class="timeline {}" data-host="{}" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/>"#,
            if server { "server" } else { "client" },
            xml(host)
        );
    }
    s.push_str("</g>\n");

    // Time labels and breaks.
    let _ = writeln!(s, r#"<g class="axis">"#);
    for &(a, y, b, step) in &axis.stretches {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            y + 4.0,
            seconds(a)
        );
        let mut t = (a / step).floor() * step + step;
        while t < b - step * 0.5 {
            let ty = axis.y(t);
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
    for &(y, skipped) in &axis.breaks {
        let _ = writeln!(
            s,
            r#"<g class="break"><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">+{}</text></g>"#,
            LEFT,
            width - 12.0,
            y - 3.0,
            y - 3.0,
            LEFT,
            width - 12.0,
            y + 3.0,
            y + 3.0,
            LEFT - 8.0,
            y + 4.0,
            skip_text(skipped)
        );
    }
    s.push_str("</g>\n");

    // Faults.
    let _ = writeln!(s, r#"<g class="spans">"#);
    for span in flow.spans.iter() {
        draw_span(&mut s, span, &axis, from, to, end, &x_of);
    }
    s.push_str("</g>\n");

    // Convergence.
    let _ = writeln!(s, r#"<g class="converged">"#);
    for (t, text) in flow
        .converged
        .iter()
        .filter(|(t, _)| ms(*t) >= from && ms(*t) <= to)
    {
        let y = axis.y(ms(*t));
        let _ = writeln!(
            s,
            r#"<g><title>{} converged {}</title><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">converged {}</text></g>"#,
            seconds(ms(*t)),
            xml(text),
            LEFT,
            width - 12.0,
            width - 14.0,
            y - 4.0,
            xml(text)
        );
    }
    if let Some((t, why)) = flow
        .failed
        .as_ref()
        .filter(|(t, _)| ms(*t) >= from && ms(*t) <= to)
    {
        let y = axis.y(ms(*t));
        let _ = writeln!(
            s,
            r#"<g class="failed"><title>{} FAIL {}</title><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">FAIL</text></g>"#,
            seconds(ms(*t)),
            xml(why),
            LEFT,
            width - 12.0,
            width - 14.0,
            y - 4.0
        );
    }
    s.push_str("</g>\n");

    // Messages.
    let _ = writeln!(
        s,
        r#"<clipPath id="window"><rect x="0" y="{top:.1}" width="{width:.0}" height="{:.1}"/></clipPath>"#,
        axis.bottom() - top
    );
    let _ = writeln!(s, r#"<g class="messages" clip-path="url(#window)">"#);
    // Lines sent and received at the same moments between the same hosts
    // (a dump, or a HELLO beside a dump) would hide each other: each one
    // more is drawn a little lower, up to a few.
    type Moment = Option<Duration>;
    let mut alike: BTreeMap<(&str, &str, Moment, Moment), usize> = BTreeMap::new();
    for m in &messages {
        let n = alike
            .entry((m.from.as_str(), m.to.as_str(), m.sent, m.received))
            .or_insert(0);
        let shift = (*n).min(3) as f64 * 3.0;
        *n += 1;
        draw_message(&mut s, m, &axis, &x_of, flow.median_delay, flow.end, shift);
    }
    s.push_str("</g>\n</svg>\n");
    s
}

/// A `many_clients` host is named `<prefix>-<server>`; keep names short.
fn short_host(host: &str) -> String {
    if host.chars().count() <= 18 {
        host.to_string()
    } else {
        let cut: String = host.chars().take(16).collect();
        format!("{cut}…")
    }
}

fn skip_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn legend(s: &mut String, y: f64, options: &SvgOptions, flow: &Flow) {
    let _ = writeln!(s, r#"<g class="legend">"#);
    let mut x = 12.0;
    for kind in Kind::ALL {
        let count = flow.messages.iter().filter(|m| m.kind == kind).count();
        let mut label = format!("{} ({count})", kind.name());
        if kind == Kind::Heartbeat && !options.heartbeats {
            label = format!("heartbeats not drawn ({count})");
        }
        let _ = writeln!(
            s,
            r#"<line class="m {}" x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" marker-end="url(#head-{})"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            kind.class(),
            x + 26.0,
            kind.class(),
            x + 32.0,
            y + 4.0,
            xml(&label)
        );
        x += 44.0 + label.len() as f64 * 6.4;
    }
    let y2 = y + 24.0;
    let mut x = 12.0;
    for (what, label) in [
        ("partition", "partition"),
        ("one-way partition", "one-way partition"),
        ("hold", "held messages"),
    ] {
        let (fill, opacity) = span_colour(what);
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="26" height="12" fill="{fill}" fill-opacity="{opacity}"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            y2 - 6.0,
            x + 32.0,
            y2 + 4.0
        );
        x += 44.0 + label.len() as f64 * 6.4;
    }
    let _ = writeln!(
        s,
        r#"<rect x="{x:.1}" y="{:.1}" width="26" height="12" fill="url(#hatch)"/><text x="{:.1}" y="{:.1}">server down</text>"#,
        y2 - 6.0,
        x + 32.0,
        y2 + 4.0
    );
    x += 44.0 + 11.0 * 6.4;
    let _ = writeln!(
        s,
        r#"<line class="conv-sample" x1="{x:.1}" x2="{:.1}" y1="{y2:.1}" y2="{y2:.1}"/><text x="{:.1}" y="{:.1}">converged</text>"#,
        x + 26.0,
        x + 32.0,
        y2 + 4.0
    );
    x += 44.0 + 9.0 * 6.4;
    let _ = writeln!(
        s,
        r#"<line class="m update lost" x1="{x:.1}" x2="{:.1}" y1="{y2:.1}" y2="{y2:.1}"/><text x="{:.1}" y="{:.1}">✕ lost</text>"#,
        x + 26.0,
        x + 32.0,
        y2 + 4.0
    );
    x += 44.0 + 6.0 * 6.4;
    let _ = writeln!(
        s,
        r#"<line class="m client estimated" x1="{x:.1}" x2="{:.1}" y1="{y2:.1}" y2="{y2:.1}"/><text x="{:.1}" y="{:.1}">client-side time estimated</text>"#,
        x + 26.0,
        x + 32.0,
        y2 + 4.0
    );
    s.push_str("</g>\n");
}

fn draw_span(
    s: &mut String,
    span: &Span,
    axis: &Axis,
    from: f64,
    to: f64,
    end: f64,
    x_of: &dyn Fn(&str) -> Option<f64>,
) {
    let a = ms(span.from);
    let b = span.to.map_or(end, ms);
    if b < from || a > to {
        return;
    }
    let (y0, y1) = (
        axis.y(a.max(from)),
        axis.y(b.min(to)).max(axis.y(a.max(from)) + 3.0),
    );
    let (fill, opacity) = span_colour(&span.what);
    let down = span.what == "crash" || span.what == "silent death";
    let until = span.to.map_or("the end".to_string(), |t| seconds(ms(t)));
    let _ = writeln!(
        s,
        r#"<g class="span" data-what="{}"><title>{} {} from {} to {until}</title>"#,
        xml(&span.what),
        xml(&span.what),
        xml(&span.label),
        seconds(a)
    );
    let mut first = true;
    for server in &span.servers {
        let Some(x) = x_of(server) else { continue };
        let w = if down { 26.0 } else { COLUMN - 16.0 };
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
                span.what.clone()
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

fn draw_message(
    s: &mut String,
    m: &Message,
    axis: &Axis,
    x_of: &dyn Fn(&str) -> Option<f64>,
    typical: Duration,
    end: Duration,
    shift: f64,
) {
    let (Some(x1), Some(x2)) = (x_of(&m.from), x_of(&m.to)) else {
        return;
    };
    let mut classes = format!("m {}", m.kind.class());
    let (t1, t2, lost) = match (m.sent, m.received) {
        (Some(a), Some(b)) => (ms(a), ms(b), false),
        (Some(a), None) => (ms(a), ms(a) + ms(typical), true),
        (None, Some(b)) => (ms(b) - ms(typical), ms(b), false),
        (None, None) => return,
    };
    let (y1, y2) = (axis.y(t1) + shift, axis.y(t2) + shift);
    // Sent just before the run ended: still on its way, not lost.
    let in_flight = lost && m.sent.is_some_and(|t| t + IN_FLIGHT >= end);
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
    if m.estimated {
        classes.push_str(" estimated");
    }
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
}

const STYLE: &str = r##"<style>
.timeline.server { stroke: #222; stroke-width: 1.6; }
.timeline.client { stroke: #9ab; stroke-width: 1; stroke-dasharray: 2 3; }
text.host.server { font-weight: bold; font-size: 13px; }
text.host.client { fill: #357; }
.m line, line.m { stroke-width: 1.4; }
.m.client line, line.m.client { stroke: #1f77b4; }
.m.reply line, line.m.reply { stroke: #17a2b8; }
.m.update line, line.m.update { stroke: #d95f02; }
.m.catchup line, line.m.catchup { stroke: #7b3fb5; }
.m.hello line, line.m.hello { stroke: #555555; stroke-dasharray: 1 2; }
.m.heartbeat line, line.m.heartbeat { stroke: #9a9a9a; stroke-opacity: 0.45; stroke-width: 0.8; }
.m.estimated line, line.m.estimated { stroke-dasharray: 4 2; }
.m.lost line, line.m.lost { stroke-opacity: 0.7; }
.m.in-flight line { stroke-dasharray: 2 2; }
.m .cross { stroke: #c00; stroke-width: 1.6; fill: none; }
.m line.hit { stroke: transparent; stroke-width: 7; stroke-dasharray: none; }
.m:hover line { stroke-width: 3; }
.break line { stroke: #bbb; stroke-dasharray: 6 4; }
.break text, .axis text { fill: #666; font-size: 11px; }
.converged line, line.conv-sample { stroke: #1b9e77; stroke-width: 2; stroke-dasharray: 8 3; }
.converged text { fill: #1b9e77; font-weight: bold; }
.failed line { stroke: #c00; stroke-width: 2; stroke-dasharray: 8 3; }
.failed text { fill: #c00; font-weight: bold; }
.span-label { fill: #555; font-size: 11px; }
</style>
"##;

/// `FROM_MS..TO_MS`, for `--svg-window`.
pub fn parse_window(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?}: want FROM_MS..TO_MS"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{text:?}: {s:?} is not a number of milliseconds"))
    };
    let (a, b) = (number(a)?, number(b)?);
    if b <= a {
        return Err(format!("{text:?}: the window ends before it starts"));
    }
    Ok((a, b))
}

/// Where the diagram of one run goes: `file` itself when the command makes
/// one run; else the scenario name (and with `--runs`, the seed) inserted
/// before the extension: `out.svg` becomes `out.silent_death.svg` or
/// `out.silent_death.7.svg`.
pub fn file_for(
    file: &std::path::Path,
    scenario: &str,
    seed: u64,
    one_run: bool,
    one_seed: bool,
) -> std::path::PathBuf {
    if one_run {
        return file.to_path_buf();
    }
    let stem = file
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let ext = file
        .extension()
        .map_or("svg".to_string(), |e| e.to_string_lossy().into_owned());
    let name = if one_seed {
        format!("{stem}.{scenario}.{ext}")
    } else {
        format!("{stem}.{scenario}.{seed}.{ext}")
    };
    file.with_file_name(name)
}

/// The diagram of a finished run of `scenario`, titled with the run and
/// its statistics.
pub fn of_report(
    report: &crate::run::Report,
    scenario: &crate::scenario::Scenario,
    seed: u64,
    window_ms: Option<(u64, u64)>,
    heartbeats: bool,
) -> String {
    let servers: Vec<String> = scenario.herd.servers.iter().map(|s| s.name.clone()).collect();
    let flow = flow::build(&report.records, &servers);
    let stats = crate::stats::compute(&report.records, &flow, &scenario.herd, report.sim_ms);
    let verdict = match &report.failure {
        None => "PASS".to_string(),
        Some(f) => format!("FAIL at {}: {}", f.place, f.message),
    };
    let mut title = vec![
        format!("{}  seed {seed}  {verdict}", scenario.name),
        scenario.description.clone(),
        format!(
            "flooding {}  {}  updates {}  convergence p50 {} / max {} ms  catch-up {} lines",
            stats.flooding,
            stats.summary(),
            stats.updates,
            stats
                .convergence
                .p50_ms
                .map_or("-".to_string(), |v| format!("{v}")),
            stats
                .convergence
                .max_ms
                .map_or("-".to_string(), |v| format!("{v}")),
            stats.reconciliation.lines
        ),
    ];
    if let Some((a, b)) = window_ms {
        title.push(format!("window {a}..{b} ms"));
    }
    let options = SvgOptions {
        title,
        window_ms,
        heartbeats,
    };
    render_flow(&flow, &options)
}
