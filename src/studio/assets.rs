//! The studio's page, compiled into the binary: one HTML page with two views (cartoonize,
//! runs), its scripts (no framework, no CDN) and its styles.

/// The page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// The cartoonize view: drop or pick photos, choose styles, queue jobs, compare, download.
pub const APP_JS: &str = include_str!("assets/app.js");
/// The runs view: the runs index, a run's config, live loss curves, samples, reports.
pub const RUNS_JS: &str = include_str!("assets/runs.js");
/// Loss curves drawn as inline SVG.
pub const CHART_JS: &str = include_str!("assets/chart.js");
/// Styles of both views (phone first).
pub const STYLE_CSS: &str = include_str!("assets/style.css");
