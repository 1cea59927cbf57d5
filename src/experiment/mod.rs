//! `toongan experiment`: train every variant of a plan for every seed, cartoonize the test
//! photos, score them, and write the report.
//!
//! `plan` reads the TOML into an [`ExperimentPlan`], `resolve` ([`resolve_config`]) turns a
//! variant and seed into a training config, `planned` ([`list_runs`]) resolves every run of a
//! plan up front, `scale` ([`Scale`]) shrinks it for `--scale tiny`, `runner`
//! ([`run_experiment`]) runs everything as named steps (prepare data, train, cartoonize, score,
//! report) with `options` ([`RunnerOptions`]), `test_set`, `distill` (a distillation plan's split
//! and teacher), `cartoonize_run` ([`translator_for_run`]) and `scoring` doing the work,
//! `records` ([`RunRecord`]) are what it reports per run, `report_writer` writes the report,
//! `layout` ([`Layout`]) says where each file goes.
//!
//! Scaling out: `shard` ([`Shard`]) splits the runs between processes, `run_lock`
//! ([`RunLock`]) keeps two of them off one run, `markers` say what is finished, `collect`
//! writes the report of the finished runs (`--report`), and `slurm` ([`write_slurm_jobs`],
//! [`submit_slurm_jobs`]) writes and submits the Slurm job array.

mod cartoonize_run;
mod collect;
mod distill;
mod error;
mod layout;
mod markers;
mod options;
mod plan;
mod planned;
mod records;
mod report_writer;
mod resolve;
mod run_lock;
mod runner;
mod scale;
mod scoring;
mod shard;
mod slurm;
mod test_set;

pub use cartoonize_run::translator_for_run;
pub use error::ExperimentError;
pub use layout::Layout;
pub use options::{Mode, RunnerOptions};
pub use plan::{
    DataFolders, DataSource, DistillData, EvalSettings, ExperimentPlan, PlanError, Variant,
};
pub use planned::list_runs;
pub use records::{ExperimentSummary, RunRecord, RunStatus};
pub use resolve::resolve_config;
pub use run_lock::{Holder, RunLock};
pub use runner::run_experiment;
pub use scale::Scale;
pub use scoring::{PairedScores, RunScores};
pub use shard::Shard;
pub use slurm::{
    SlurmJobs, SlurmOptions, SubmittedJobs, submit as submit_slurm_jobs,
    write_jobs as write_slurm_jobs,
};
