//! The results figure: one bar per method (how often it was picked), with its 95% interval
//! as a whisker and the chance level as a dashed line, like the seed study's bar chart.
//! Hand-written SVG: a dozen shapes need no plotting library and no fonts on the server.

use std::fmt::Write;

use super::stats::SurveyStats;

/// Bar fill colours, cycled over methods (colour-blind-safe Okabe-Ito palette).
const COLOURS: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// Escapes text for SVG/HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the overall pick rates of `stats` as a standalone SVG document.
pub fn bar_chart_svg(stats: &SurveyStats, title: &str) -> String {
    let n = stats.methods.len().max(1);
    let (top, bottom, right) = (40.0, 64.0, 16.0);
    let slot = 110.0;
    // At least 520 wide so the footnote fits; bars centred in the plot area.
    let width = (72.0 + right + slot * n as f64).max(520.0);
    let left = width - right - slot * n as f64;
    let height = 360.0;
    let plot_h = height - top - bottom;
    let y = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{t}" font-family="system-ui, sans-serif" font-size="13">"#,
        t = escape(title)
    );
    let _ = write!(
        s,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/><text x="{cx}" y="22" text-anchor="middle" font-size="15" font-weight="600">{t}</text>"##,
        cx = width / 2.0,
        t = escape(title)
    );
    for tick in 0..=5 {
        let v = tick as f64 / 5.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{x2}" y1="{yy}" y2="{yy}" stroke="#dddddd"/><text x="{tx}" y="{ty}" text-anchor="end" fill="#555555">{p}%</text>"##,
            x2 = width - right,
            yy = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
            p = tick * 20
        );
    }
    let _ = write!(
        s,
        r##"<text transform="translate({lx} {cy}) rotate(-90)" text-anchor="middle" fill="#333333">picked (% of answers)</text>"##,
        lx = left - 50.0,
        cy = top + plot_h / 2.0
    );
    for (i, m) in stats.methods.iter().enumerate() {
        let x0 = left + slot * i as f64;
        let bx = x0 + slot * 0.2;
        let bw = slot * 0.6;
        let cx = x0 + slot / 2.0;
        let colour = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            r#"<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="{colour}"><title>{name}: {picks} of {n} answers</title></rect>"#,
            by = y(m.rate),
            bh = plot_h * m.rate.clamp(0.0, 1.0),
            name = escape(&m.method),
            picks = m.picks,
            n = m.answers
        );
        if let Some(ci) = m.ci95 {
            let (lo, hi) = (y(ci.low), y(ci.high));
            let _ = write!(
                s,
                r##"<path d="M{cx} {lo}V{hi}M{a} {lo}H{b}M{a} {hi}H{b}" stroke="#222222" stroke-width="1.5" fill="none"/>"##,
                a = cx - 8.0,
                b = cx + 8.0
            );
        }
        let _ = write!(
            s,
            r##"<text x="{cx}" y="{ty}" text-anchor="middle" font-weight="600">{pct:.1}%</text><text x="{cx}" y="{ly}" text-anchor="middle">{name}</text><text x="{cx}" y="{ny}" text-anchor="middle" fill="#555555" font-size="11">{picks}/{n}</text>"##,
            ty = (y(m.ci95.map_or(m.rate, |c| c.high)) - 6.0).max(top - 4.0),
            pct = m.rate * 100.0,
            ly = height - bottom + 20.0,
            ny = height - bottom + 36.0,
            name = escape(&m.method),
            picks = m.picks,
            n = m.answers
        );
    }
    if stats.chance > 0.0 {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{x2}" y1="{yc}" y2="{yc}" stroke="#aa0000" stroke-dasharray="6 4"/><text x="{x2}" y="{ty}" text-anchor="end" fill="#aa0000" font-size="11">chance {p:.1}%</text>"##,
            x2 = width - right,
            yc = y(stats.chance),
            ty = y(stats.chance) - 4.0,
            p = stats.chance * 100.0
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{x2}" y1="{yb}" y2="{yb}" stroke="#333333"/><text x="{cx}" y="{fy}" text-anchor="middle" fill="#555555" font-size="11">{a} answers from {p} participant{s}; whiskers: 95% Wilson intervals</text></svg>"##,
        x2 = width - right,
        yb = y(0.0),
        cx = width / 2.0,
        fy = height - 8.0,
        a = stats.answers,
        p = stats.active_participants,
        s = if stats.active_participants == 1 {
            ""
        } else {
            "s"
        }
    );
    s
}
