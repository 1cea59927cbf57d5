//! The admin results page: counts, the bar chart, and pick-rate tables with 95% intervals.

use std::fmt::Write;

use super::chart::{bar_chart_svg, escape};
use super::layout::Survey;
use super::stats::{MethodRate, SurveyStats};

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn ci(m: &MethodRate) -> String {
    m.ci95
        .map(|c| format!("{} – {}", pct(c.low), pct(c.high)))
        .unwrap_or_else(|| "–".into())
}

/// Renders the results page for `stats` of `survey`.
pub fn results_html(survey: &Survey, stats: &SurveyStats) -> String {
    let mut s = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Survey results</title><link rel="stylesheet" href="/assets/style.css"></head><body><main class="results">"#,
    );
    let _ = write!(
        s,
        r#"<h1>Survey results</h1><p class="counts">Participants: <span id="participants">{}</span> ({} answered, {} completed all {} questions) · Answers: <span id="answers">{}</span></p>"#,
        stats.participants,
        stats.active_participants,
        stats.completed_participants,
        survey.questions.len(),
        stats.answers
    );
    let _ = write!(
        s,
        r#"<figure class="chart">{}</figure>"#,
        bar_chart_svg(stats, "Closest in style to the reference")
    );
    s.push_str(r#"<p class="downloads"><a href="/admin/answers.csv">Download raw answers (CSV)</a> · <a href="/admin/stats.json">Statistics (JSON)</a> · <a href="/admin/chart.svg">Chart (SVG)</a></p>"#);
    s.push_str(r#"<h2>Overall</h2><div class="scroll"><table id="overall"><thead><tr><th>Method</th><th>Picked</th><th>Rate</th><th>95% CI (Wilson)</th></tr></thead><tbody>"#);
    for m in &stats.methods {
        let _ = write!(
            s,
            r#"<tr data-method="{name}"><td>{name}</td><td>{} / {}</td><td class="rate">{}</td><td>{}</td></tr>"#,
            m.picks,
            m.answers,
            pct(m.rate),
            ci(m),
            name = escape(&m.method)
        );
    }
    let _ = write!(
        s,
        r#"</tbody></table></div><p class="note">Chance level is {}. Intervals treat answers as independent; answers of one participant are correlated, so read them as a lower bound on the uncertainty.</p>"#,
        pct(stats.chance)
    );
    s.push_str(r#"<h2>Per question</h2><div class="scroll"><table id="per-question"><thead><tr><th>#</th><th>Reference</th><th>Answers</th>"#);
    for m in &survey.methods {
        let _ = write!(s, "<th>{}</th>", escape(&m.name));
    }
    s.push_str("</tr></thead><tbody>");
    for q in &stats.questions {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            q.question,
            escape(&q.reference),
            q.answers
        );
        for m in &q.methods {
            let _ = write!(s, r#"<td>{}<br><small>{}</small></td>"#, pct(m.rate), ci(m));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div></main></body></html>");
    s
}
