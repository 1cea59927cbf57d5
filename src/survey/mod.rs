//! Human preference survey: the study behind CartoonGAN-style papers, run from one SQLite file.
//!
//! `create` builds a survey (references, named candidate methods, images copied in as blobs)
//! into a [`Store`]; `server` serves the participant page and the admin results over HTTP;
//! `stats`, `chart` and `export` turn the recorded answers into pick rates with Wilson
//! intervals, an SVG bar chart and a CSV file. This module stands on its own: it needs no
//! model or weights, only images on disk.

mod admin_token;
mod assets;
mod chart;
mod create;
mod error;
mod export;
mod layout;
mod participant;
mod results_page;
mod server;
mod stats;
mod store;

pub use admin_token::AdminToken;
pub use chart::bar_chart_svg;
pub use create::{CreateOptions, CreateSummary, create_survey};
pub use error::SurveyError;
pub use export::answers_csv;
pub use layout::{Candidate, Method, Question, Survey};
pub use participant::{ParticipantId, candidate_order, question_order};
pub use server::{
    DEFAULT_PARTICIPANTS_PER_MINUTE, MAX_BODY_BYTES, ServeOptions, router, serve, serve_with_limits,
};
pub use stats::{MethodRate, QuestionRates, SurveyStats, WilsonInterval, survey_stats, wilson};
pub use store::{AnswerOutcome, AnswerRow, NewAnswer, Store};
