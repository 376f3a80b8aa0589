//! A space-time diagram of one run, as a standalone SVG file: one vertical
//! time line per server and per client host, ordered to keep arrows short
//! (`columns.rs`), one arrow per message (coloured by kind, with a short
//! label where there is room, `labels.rs`, and the line's text as its hover
//! `<title>`), faults as shaded spans (each side of a partition its own
//! shade), and the moments the herd converged. Time runs down the page;
//! quiet stretches are cut out (`axis.rs`). The layers are drawn in
//! `draw.rs`, the colours and legend are in `style.rs`. See
//! docs/scenarios.md, "Diagrams".

mod axis;
mod columns;
mod draw;
mod labels;
mod style;

use std::fmt::Write as _;

use herd::config::HerdConfig;

use self::axis::{ms, Axis};
use self::draw::Page;
pub use self::draw::{xml, IN_FLIGHT};
use super::flow::{self, Flow, Kind, Message};
use super::record::Record;
use super::stats::Stats;

#[derive(Debug, Clone, Default)]
pub struct SvgOptions {
    /// Lines of text at the top (scenario, seed, statistics, ...).
    pub title: Vec<String>,
    /// Draw only what happens between these simulated milliseconds.
    pub window_ms: Option<(u64, u64)>,
    /// Draw heartbeats (faint); by default they are left out.
    pub heartbeats: bool,
}

const LEFT: f64 = 96.0;
const COLUMN: f64 = 132.0;
const HEAD_LINE: f64 = 18.0;

/// The diagram of a run from its records and the herd's server names in
/// config order.
pub fn render(records: &[Record], servers: &[String], options: &SvgOptions) -> String {
    render_flow(&flow::build(records, servers), options)
}

/// Whether a message shows: its kind is drawn and it touches the window.
fn shown(m: &Message, options: &SvgOptions, from: f64, to: f64) -> bool {
    if m.kind == Kind::Heartbeat && !options.heartbeats {
        return false;
    }
    let inside = |t: Option<std::time::Duration>| t.is_some_and(|t| ms(t) >= from && ms(t) <= to);
    inside(m.sent) || inside(m.received)
}

/// The diagram of an already built flow.
pub fn render_flow(flow: &Flow, options: &SvgOptions) -> String {
    let (from, to) = match options.window_ms {
        Some((a, b)) => (a as f64, (b as f64).max(a as f64 + 1.0)),
        None => (0.0, ms(flow.end).max(1.0)),
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

    let hosts: Vec<(&str, f64, bool)> = columns::order(flow, &messages)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c.host, LEFT + COLUMN / 2.0 + i as f64 * COLUMN, c.server))
        .collect();
    let width = LEFT + COLUMN * hosts.len() as f64 + 48.0;
    let longest = options.title.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let width = width.max(900.0).max((longest as f64 * 6.8 + 24.0).min(1400.0));
    let title_h = HEAD_LINE * options.title.len().max(1) as f64 + 8.0;
    let legend_y = title_h + 10.0;
    let mut legend = String::new();
    let legend_bottom = style::legend(&mut legend, legend_y, width, options, flow);
    let names_y = legend_bottom + 28.0;
    let top = names_y + 22.0;
    let axis = Axis::new(&mut times, from, to, top);
    let bottom = axis.bottom() + 16.0;
    let height = bottom + 30.0;
    let page = Page {
        flow,
        axis,
        hosts,
        width,
        top,
        bottom,
        from,
        to,
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"#
    );
    style::head(&mut s);
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    title(&mut s, &options.title, width);
    s.push_str(&legend);
    draw::hosts(&mut s, &page, names_y);
    page.axis.draw(&mut s, width);
    draw::spans(&mut s, &page);
    draw::moments(&mut s, &page);
    draw::messages(&mut s, &page, &messages);
    s.push_str("</svg>\n");
    s
}

/// Title lines; those longer than the page are cut, the whole text is
/// their hover.
fn title(s: &mut String, lines: &[String], width: f64) {
    let fits = ((width - 24.0) / 6.8) as usize;
    for (i, line) in lines.iter().enumerate() {
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
}

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

/// What a titled diagram says about its run.
pub struct Titled<'a> {
    pub scenario: &'a str,
    pub description: &'a str,
    pub seed: u64,
    /// `PASS`, or `FAIL at ...`.
    pub verdict: String,
    pub herd: &'a HerdConfig,
    pub sim_ms: u64,
}

/// The diagram of a finished run, titled with the run and its statistics.
pub fn of_run(records: &[Record], run: &Titled, window_ms: Option<(u64, u64)>, heartbeats: bool) -> String {
    let servers: Vec<String> = run.herd.servers.iter().map(|s| s.name.clone()).collect();
    let flow = flow::build(records, &servers);
    let stats: Stats = super::stats::compute(records, &flow, run.herd, run.sim_ms);
    let value = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let mut title = vec![
        format!("{}  seed {}  {}", run.scenario, run.seed, run.verdict),
        run.description.to_string(),
        format!(
            "flooding {}  {}  updates {}  propagation p50 {} / max {} ms  catch-up {} lines",
            stats.flooding,
            stats.summary(),
            stats.updates,
            value(stats.convergence.p50_ms),
            value(stats.convergence.max_ms),
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
