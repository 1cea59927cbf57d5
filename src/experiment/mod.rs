//! `toongan experiment`: train every variant of a plan for every seed, cartoonize the test
//! photos, score them, and write the report.

pub mod plan;

pub use plan::{ExperimentPlan, PlanError, Variant};
