//! How a diagram looks: colours per kind of message and fault, the
//! legend, the style sheet and the arrow heads.

use std::fmt::Write as _;

use super::draw::xml;
use super::SvgOptions;
use crate::observe::flow::{Flow, Kind};

fn colour(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "#1f77b4",
        Kind::Reply => "#17a2b8",
        Kind::Update => "#d95f02",
        Kind::CatchUp => "#7b3fb5",
        Kind::Hello => "#555555",
        Kind::Ack => "#2e8b57",
        Kind::Heartbeat => "#9a9a9a",
        Kind::Other => "#b8860b",
    }
}

/// The shade of a fault on a server: side `b` (`far`) of a partition or
/// hold gets its own.
pub(super) fn span_colour(what: &str, far: bool) -> (&'static str, f64) {
    match (what, far) {
        ("partition", false) => ("#e7298a", 0.16),
        ("partition", true) => ("#3690c0", 0.18),
        ("one-way partition", false) => ("#e6ab02", 0.22),
        ("one-way partition", true) => ("#a6761d", 0.22),
        ("hold", false) => ("#66a61e", 0.16),
        ("hold", true) => ("#1b9e77", 0.16),
        _ => ("#444444", 0.28),
    }
}

/// The style sheet, an arrow head per kind, the hatching of a server down.
pub(super) fn head(s: &mut String) {
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
}

/// What a legend entry shows beside its text.
enum Swatch {
    Message(Kind),
    /// A fault's two shades, side `a` then side `b`.
    Sides(&'static str),
    Down,
    Converged,
    Lost,
}

/// Each kind of message present with its count, then faults and markers,
/// wrapped to `width`; the y of the last row's bottom.
pub(super) fn legend(s: &mut String, y: f64, width: f64, options: &SvgOptions, flow: &Flow) -> f64 {
    let mut entries: Vec<(Swatch, String)> = Vec::new();
    for kind in Kind::ALL {
        let count = flow.messages.iter().filter(|m| m.kind == kind).count();
        if count == 0 {
            continue;
        }
        let label = if kind == Kind::Heartbeat && !options.heartbeats {
            format!("heartbeats ({count}, not drawn)")
        } else {
            format!("{} ({count})", kind.name())
        };
        entries.push((Swatch::Message(kind), label));
    }
    entries.extend([
        (
            Swatch::Sides("partition"),
            "partition, side a | side b".to_string(),
        ),
        (
            Swatch::Sides("one-way partition"),
            "one-way partition, from | to".to_string(),
        ),
        (Swatch::Sides("hold"), "held messages, a | b".to_string()),
        (Swatch::Down, "server down".to_string()),
        (Swatch::Converged, "converged".to_string()),
        (Swatch::Lost, "✕ lost".to_string()),
    ]);
    let _ = writeln!(s, r#"<g class="legend">"#);
    let (mut x, mut row) = (12.0, y);
    for (swatch, label) in entries {
        let w = 44.0 + label.chars().count() as f64 * 6.4;
        if x > 12.0 && x + w > width - 12.0 {
            x = 12.0;
            row += 22.0;
        }
        match swatch {
            Swatch::Message(kind) => {
                let _ = write!(
                    s,
                    r#"<line class="m {}" x1="{x:.1}" x2="{:.1}" y1="{row:.1}" y2="{row:.1}" marker-end="url(#head-{})"/>"#,
                    kind.class(),
                    x + 26.0,
                    kind.class()
                );
            }
            Swatch::Sides(what) => {
                for (dx, far) in [(0.0, false), (13.0, true)] {
                    let (fill, opacity) = span_colour(what, far);
                    let _ = write!(
                        s,
                        r#"<rect x="{:.1}" y="{:.1}" width="13" height="12" fill="{fill}" fill-opacity="{opacity}"/>"#,
                        x + dx,
                        row - 6.0
                    );
                }
            }
            Swatch::Down => {
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="26" height="12" fill="url(#hatch)"/>"#,
                    row - 6.0
                );
            }
            Swatch::Converged => {
                let _ = write!(
                    s,
                    r#"<line class="conv-sample" x1="{x:.1}" x2="{:.1}" y1="{row:.1}" y2="{row:.1}"/>"#,
                    x + 26.0
                );
            }
            Swatch::Lost => {
                let _ = write!(
                    s,
                    r#"<line class="m update lost" x1="{x:.1}" x2="{:.1}" y1="{row:.1}" y2="{row:.1}"/>"#,
                    x + 26.0
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 32.0,
            row + 4.0,
            xml(&label)
        );
        x += w;
    }
    s.push_str("</g>\n");
    row + 8.0
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
.m.ack line, line.m.ack { stroke: #2e8b57; }
.m.other line, line.m.other { stroke: #b8860b; }
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
text.label { font-size: 10px; text-anchor: middle; paint-order: stroke; stroke: white; stroke-width: 3px; stroke-linejoin: round; }
text.label.client { fill: #1f77b4; }
text.label.reply { fill: #117a8b; }
text.label.update { fill: #b34d00; }
text.label.catchup { fill: #7b3fb5; }
text.label.hello { fill: #555555; }
text.label.ack { fill: #2e8b57; }
text.label.other { fill: #8b6508; }
</style>
"##;
