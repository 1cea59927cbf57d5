//! `toongan experiment`: train every variant of a plan for every seed, cartoonize the test
//! photos, score them, and write the report.
//!
//! [`plan`] reads the TOML, [`resolve`] turns a variant and seed into a training config,
//! [`scale`] shrinks it for `--scale tiny`, [`runner`] runs everything, [`test_set`],
//! [`cartoonize_run`] and [`scoring`] are its steps, [`report_writer`] writes the report,
//! [`layout`] says where each file goes.

pub mod cartoonize_run;
pub mod error;
pub mod layout;
pub mod plan;
pub mod report_writer;
pub mod resolve;
pub mod runner;
pub mod scale;
pub mod scoring;
pub mod test_set;

pub use error::ExperimentError;
pub use plan::{DataFolders, EvalSettings, ExperimentPlan, PlanError, Variant};
pub use resolve::resolve_config;
pub use runner::{ExperimentSummary, RunRecord, RunStatus, RunnerOptions, run_experiment};
pub use scale::Scale;
