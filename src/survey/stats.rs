//! Statistics of a survey: how often each method was picked, with 95% Wilson score
//! intervals, overall and per question.
//!
//! The Wilson interval (Wilson 1927; the `method='wilson'` of scipy's
//! `binomtest(...).proportion_ci`, which the tests match) stays inside [0, 1] and keeps close
//! to its nominal coverage for small counts, where the normal approximation does not. It
//! treats answers as independent; answers of one participant are not, so read the overall
//! intervals as optimistic when participants differ a lot (docs/survey.md says more).

use serde::Serialize;

use super::layout::Survey;
use super::store::AnswerRow;

/// Two-sided 95% normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A confidence interval for a proportion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WilsonInterval {
    /// Lower bound in [0, 1].
    pub low: f64,
    /// Upper bound in [0, 1].
    pub high: f64,
}

/// Wilson score interval for `k` successes out of `n` at normal quantile `z`; `None` when
/// `n` is 0 (no answers, no interval).
pub fn wilson(k: u64, n: u64, z: f64) -> Option<WilsonInterval> {
    if n == 0 || k > n {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(WilsonInterval {
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    })
}

/// How often one method was picked among a set of answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodRate {
    /// Method name.
    pub method: String,
    /// Answers that picked this method.
    pub picks: u64,
    /// Answers in the set.
    pub answers: u64,
    /// `picks / answers` (0 when there are no answers).
    pub rate: f64,
    /// 95% Wilson interval of the rate; `None` without answers.
    pub ci95: Option<WilsonInterval>,
}

/// Pick rates of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionRates {
    /// Question number.
    pub question: u32,
    /// File the reference was copied from.
    pub reference: String,
    /// Answers to this question.
    pub answers: u64,
    /// One entry per method, in method order.
    pub methods: Vec<MethodRate>,
}

/// Everything the results page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyStats {
    /// Participants who opened the survey.
    pub participants: u64,
    /// Participants who answered at least one question.
    pub active_participants: u64,
    /// Participants who answered every question.
    pub completed_participants: u64,
    /// Recorded answers.
    pub answers: u64,
    /// Pick rate a method gets by chance: 1 / number of methods.
    pub chance: f64,
    /// Overall pick rates, one per method.
    pub methods: Vec<MethodRate>,
    /// Per-question pick rates.
    pub questions: Vec<QuestionRates>,
}

fn rates(survey: &Survey, picks: &[u64]) -> Vec<MethodRate> {
    let total: u64 = picks.iter().sum();
    survey
        .methods
        .iter()
        .zip(picks)
        .map(|(m, &k)| MethodRate {
            method: m.name.clone(),
            picks: k,
            answers: total,
            rate: if total == 0 {
                0.0
            } else {
                k as f64 / total as f64
            },
            ci95: wilson(k, total, Z95),
        })
        .collect()
}

/// Aggregates `answers` of `survey` (with `participants` registered) into pick rates.
pub fn survey_stats(survey: &Survey, answers: &[AnswerRow], participants: u64) -> SurveyStats {
    let k = survey.methods.len();
    let mut overall = vec![0u64; k];
    let mut per_question = vec![vec![0u64; k]; survey.questions.len()];
    let mut per_participant: std::collections::HashMap<&str, usize> = Default::default();
    for a in answers {
        if let Some(qi) = survey.questions.iter().position(|q| q.number == a.question)
            && a.method < k
        {
            overall[a.method] += 1;
            per_question[qi][a.method] += 1;
            *per_participant.entry(a.participant.as_str()).or_default() += 1;
        }
    }
    let n_questions = survey.questions.len();
    SurveyStats {
        participants,
        active_participants: per_participant.len() as u64,
        completed_participants: per_participant
            .values()
            .filter(|&&n| n >= n_questions)
            .count() as u64,
        answers: overall.iter().sum(),
        chance: if k == 0 { 0.0 } else { 1.0 / k as f64 },
        methods: rates(survey, &overall),
        questions: survey
            .questions
            .iter()
            .zip(&per_question)
            .map(|(q, picks)| QuestionRates {
                question: q.number,
                reference: q.reference_source.clone(),
                answers: picks.iter().sum(),
                methods: rates(survey, picks),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scipy; regenerate with
    /// `/work/main/.venv/bin/python tools/ref_wilson.py > tests/fixtures/survey/wilson.json`.
    #[test]
    fn wilson_matches_scipy() {
        let fixture: Vec<(u64, u64, f64, f64)> =
            serde_json::from_str(include_str!("../../tests/fixtures/survey/wilson.json"))
                .expect("fixture parses");
        assert!(fixture.len() >= 8);
        for (k, n, low, high) in fixture {
            let ci = wilson(k, n, Z95).expect("n > 0");
            assert!((ci.low - low).abs() < 1e-12, "{k}/{n}: {} vs {low}", ci.low);
            assert!(
                (ci.high - high).abs() < 1e-12,
                "{k}/{n}: {} vs {high}",
                ci.high
            );
        }
        assert!(wilson(0, 0, Z95).is_none());
        assert!(wilson(3, 2, Z95).is_none());
    }
}
