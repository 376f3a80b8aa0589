//! The propagation plot of a run (SVG, drawn with plotters): one point per
//! client update, at the simulated time its origin stored it, as high as
//! the time it took to reach every server running at the end (log scale),
//! coloured by origin; updates that never got everywhere are red crosses
//! along the top. Faults are shaded behind, and dashed lines mark each
//! `converged` step passing, as in the diagram.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::diagram::Titled;
use super::flow;
use super::record::Record;
use super::stats;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
/// What of the title fits the width (the diagram has the whole verdict).
const TITLE_CHARS: usize = 110;
/// Colours of origin servers, in herd order (then again).
const ORIGINS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe6, 0xab, 0x02),
    RGBColor(0x66, 0x66, 0x66),
];

/// The plot of a finished run.
pub fn of_run(records: &[Record], run: &Titled) -> String {
    let servers: Vec<String> = run.herd.servers.iter().map(|s| s.name.clone()).collect();
    let flow = flow::build(records, &servers);
    let stats = stats::compute(records, &flow, run.herd, run.sim_ms);
    let mut svg = String::new();
    // Drawing into a string fails only on a bad layout, which these fixed
    // sizes cannot produce; a plot is a view, never worth failing a run for.
    let _ = draw(&mut svg, run, &servers, &flow, &stats);
    svg
}

fn draw(
    svg: &mut String,
    run: &Titled,
    servers: &[String],
    flow: &flow::Flow,
    stats: &stats::Stats,
) -> Result<(), Box<dyn std::error::Error>> {
    let each = &stats.convergence.each;
    let end_s = (run.sim_ms as f64 / 1000.0).max(0.001);
    let top_ms = each
        .iter()
        .filter_map(|p| p.took)
        .map(|d| d.as_millis() as u64)
        .max()
        .unwrap_or(1)
        .max(10)
        * 2;
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(44);
    let mut title = format!("{}  seed {}  {}", run.scenario, run.seed, run.verdict);
    if title.chars().count() > TITLE_CHARS {
        title = title.chars().take(TITLE_CHARS - 1).collect::<String>() + "…";
    }
    head.draw_text(
        &title,
        &("sans-serif", 15)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK),
        (12, 6),
    )?;
    let c = &stats.convergence;
    let figures = format!(
        "propagation per update: {} updates, {} never everywhere; p50 {} / p99 {} / max {} ms",
        c.updates + c.unconverged,
        c.unconverged,
        ms(c.p50_ms),
        ms(c.p99_ms),
        ms(c.max_ms)
    );
    head.draw_text(&figures, &("sans-serif", 12).into_font().color(&BLACK), (12, 26))?;
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..end_s, (1u64..top_ms).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("simulated time the update was made (s)")
        .y_desc("time to reach every server (ms, log)")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for span in &flow.spans {
        let from = span.from.as_secs_f64();
        let to = span.to.map_or(end_s, |t| t.as_secs_f64());
        let shade = match span.what {
            "partition" => RGBColor(0xe7, 0x29, 0x8a).mix(0.12),
            "one-way partition" => RGBColor(0xe6, 0xab, 0x02).mix(0.18),
            "hold" => RGBColor(0x66, 0xa6, 0x1e).mix(0.14),
            _ => RGBColor(0x44, 0x44, 0x44).mix(0.12),
        };
        chart.draw_series([Rectangle::new([(from, 1), (to, top_ms)], shade.filled())])?;
        let label = format!("{} {}", span.what, span.label);
        chart.draw_series([Text::new(label, (from, 2), ("sans-serif", 10).into_font())])?;
    }
    for (at, _) in &flow.converged {
        let x = at.as_secs_f64();
        let line = RGBColor(0x1b, 0x9e, 0x77).stroke_width(1);
        chart.draw_series(DashedLineSeries::new([(x, 1), (x, top_ms)], 6, 4, line))?;
    }
    let colour: BTreeMap<&str, RGBColor> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), ORIGINS[i % ORIGINS.len()]))
        .collect();
    for server in servers {
        let points: Vec<(f64, u64)> = each
            .iter()
            .filter(|p| &p.origin == server)
            .filter_map(|p| {
                p.took
                    .map(|t| (p.made.as_secs_f64(), (t.as_millis() as u64).max(1)))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let fill = colour[server.as_str()];
        chart
            .draw_series(points.into_iter().map(|xy| Circle::new(xy, 3, fill.filled())))?
            .label(format!("from {server}"))
            .legend(move |(x, y)| Circle::new((x, y), 3, fill.filled()));
    }
    let lost: Vec<f64> = each
        .iter()
        .filter(|p| p.took.is_none())
        .map(|p| p.made.as_secs_f64())
        .collect();
    if !lost.is_empty() {
        chart
            .draw_series(
                lost.into_iter()
                    .map(|x| Cross::new((x, top_ms * 9 / 10), 5, RED.stroke_width(2))),
            )?
            .label("never reached every server")
            .legend(|(x, y)| Cross::new((x, y), 4, RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

fn ms(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}
