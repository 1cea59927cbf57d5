//! `toongan experiment`: train every variant of a plan for every seed, cartoonize the test
//! photos, score them, and write the report.
//!
//! [`plan`] reads the TOML, [`resolve`] turns a variant and seed into a training config,
//! [`scale`] shrinks it for `--scale tiny`, [`runner`] runs everything, [`test_set`],
//! [`cartoonize_run`] and [`scoring`] are its steps, [`report_writer`] writes the report,
//! [`layout`] says where each file goes.
//!
//! Scaling out: [`shard`] splits the runs between processes, [`run_lock`] keeps two of them
//! off one run, [`markers`] say what is finished, [`collect`] writes the report of the
//! finished runs (`--report`), and [`slurm`] writes and submits the Slurm job array.

pub mod cartoonize_run;
pub mod collect;
pub mod error;
pub mod layout;
pub mod markers;
pub mod plan;
pub mod report_writer;
pub mod resolve;
pub mod run_lock;
pub mod runner;
pub mod scale;
pub mod scoring;
pub mod shard;
pub mod slurm;
pub mod test_set;

pub use error::ExperimentError;
pub use plan::{DataFolders, EvalSettings, ExperimentPlan, PlanError, Variant};
pub use resolve::resolve_config;
pub use runner::{
    ExperimentSummary, Mode, RunRecord, RunStatus, RunnerOptions, list_runs, run_experiment,
};
pub use scale::Scale;
pub use shard::Shard;
