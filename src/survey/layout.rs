//! The survey's fixed content, loaded once from the store: methods, questions and the
//! candidate images of each question. Participants and answers live elsewhere.

/// A method under comparison (one `--candidate NAME=DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Database id.
    pub id: i64,
    /// Name given on the command line, e.g. `cartoongan`.
    pub name: String,
}

/// One candidate image of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Database id.
    pub id: i64,
    /// Opaque public id, random per candidate, so the API reveals neither method nor order.
    pub token: String,
    /// Index into [`Survey::methods`].
    pub method: usize,
    /// SHA-256 (hex) of the image bytes: the image's public id.
    pub image: String,
    /// File the image was copied from, relative to its candidate folder.
    pub source: String,
}

/// One screen of the survey: a reference and one candidate per method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Database id.
    pub id: i64,
    /// 1-based number of the question in the survey, its public id.
    pub number: u32,
    /// SHA-256 (hex) of the reference image.
    pub reference_image: String,
    /// File the reference was copied from, relative to the reference folder.
    pub reference_source: String,
    /// Candidates in method order (participants see them shuffled).
    pub candidates: Vec<Candidate>,
}

/// A whole survey as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// Seed that drew the questions.
    pub seed: u64,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Methods in command-line order.
    pub methods: Vec<Method>,
    /// Questions by number.
    pub questions: Vec<Question>,
}

impl Survey {
    /// The question with public number `number`, if any.
    pub fn question(&self, number: u32) -> Option<&Question> {
        number
            .checked_sub(1)
            .and_then(|i| self.questions.get(i as usize))
            .filter(|q| q.number == number)
            .or_else(|| self.questions.iter().find(|q| q.number == number))
    }
}
