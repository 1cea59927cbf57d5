//! toongan studio: a local web app to cartoonize photos (several styles or trained
//! generators at once, a before/after slider, downloads one by one or as a zip) and to watch
//! training runs and experiments (config, live loss curves, sample grids, reports).
//!
//! `api` builds the router, `serve` serves it; `job` cartoonizes one upload exactly as
//! `toongan cartoonize` does, `queue` bounds how many run and wait, `models` loads and keeps
//! the generators, `results` keeps recent results for the zip, `runs_index` finds the runs.
//! The studio sits beside the CLI at the top of the crate: it uses cartoonize, weights,
//! train's metrics log and experiment's layout, and nothing uses it.

mod api;
mod assets;
mod error;
mod job;
mod models;
mod queue;
mod results;
mod runs_index;
mod serve;

pub use api::{StudioOptions, router};
pub use error::StudioError;
pub use job::{Progress, cartoonize_upload, header_dimensions};
pub use models::{Catalogue, ModelSource};
pub use queue::{JobQueue, JobState};
pub use results::{ResultStore, StoredResult, safe_name};
pub use runs_index::{RunEntry, RunKind, scan};
pub use serve::serve;
