//! The participant page, compiled into the binary so `toongan survey serve` needs no files
//! besides the database.

/// The single-page participant app.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// Its script: participant id in localStorage, one question per screen, answers posted at once.
pub const APP_JS: &str = include_str!("assets/app.js");
/// Styles of the participant page and the results page (phone first).
pub const STYLE_CSS: &str = include_str!("assets/style.css");
