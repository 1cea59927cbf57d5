//! CSV export of the raw answers, one row per answer, for analysis elsewhere (R, pandas).

use super::layout::Survey;
use super::store::AnswerRow;

/// A text cell made safe for spreadsheets: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be run as a formula by Excel, LibreOffice or Google Sheets (CSV
/// injection), so it gets a leading `'`, which they show as text.
pub fn neutralize_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Writes `answers` as CSV with a header row: participant, question, reference file, chosen
/// method, chosen file, position the chosen image was shown at (0-based), time of the answer
/// (Unix ms) and time spent on the question (ms, as reported by the page). Operator-supplied
/// names (files, methods) go through [`neutralize_cell`].
pub fn answers_csv(survey: &Survey, answers: &[AnswerRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "participant",
        "question",
        "reference",
        "method",
        "candidate_file",
        "shown_position",
        "answered_at_unix_ms",
        "ms_on_question",
    ])?;
    for a in answers {
        let q = survey.question(a.question);
        let reference = q.map(|q| q.reference_source.as_str()).unwrap_or("");
        let file = q
            .and_then(|q| q.candidates.iter().find(|c| c.method == a.method))
            .map(|c| c.source.as_str())
            .unwrap_or("");
        let method = survey
            .methods
            .get(a.method)
            .map(|m| m.name.as_str())
            .unwrap_or("");
        w.write_record([
            a.participant.as_str(),
            &a.question.to_string(),
            &neutralize_cell(reference),
            &neutralize_cell(method),
            &neutralize_cell(file),
            &a.shown_position.to_string(),
            &a.answered_at_ms.to_string(),
            &a.ms_on_question.map(|m| m.to_string()).unwrap_or_default(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::neutralize_cell;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(neutralize_cell("=cmd()+1.png"), "'=cmd()+1.png");
        assert_eq!(neutralize_cell("@SUM(A1).png"), "'@SUM(A1).png");
        assert_eq!(neutralize_cell("-x.png"), "'-x.png");
        assert_eq!(neutralize_cell("+x.png"), "'+x.png");
        assert_eq!(neutralize_cell("cat.png"), "cat.png");
    }
}
