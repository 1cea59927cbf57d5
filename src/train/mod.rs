//! Training: data, losses, one file per model behind one trait ([`GanModel`]) found by name
//! in the registry ([`registry::ModelKind`]), and the loop (logging, samples, checkpoints,
//! resume) written once for every model.
//!
//! - config: [`config`] (the run's `config.toml`), `sections` (data, schedule, outputs),
//!   [`presets`], [`registry`] (models by name; how to add one);
//! - models: [`cartoongan`], [`cyclegan`], each behind [`gan_model::GanModel`] and
//!   [`gan_model::ModelSection`];
//! - losses: [`gan_loss`] (adversarial), [`content_loss`] (VGG/ResNet features),
//!   `cycle_loss` (cycle consistency, identity), edge smoothing's data in [`edge_smoothing`];
//! - data: [`data`] (image folders, the loader), `batch_source` ([`BatchSource`], what the
//!   loader pulls from; [`ReplayBatches`], a fixed sequence from a file), `rng`,
//!   [`image_pool`], [`smoothing_cache`];
//! - the loop: [`trainer`], [`checkpoint`], `state_files`, [`resume`], `host_tensor`,
//!   `samples`, [`metrics`], [`plot`]; several devices: [`grad_sync`], `data_parallel`.

mod batch_source;
pub mod cartoongan;
pub mod checkpoint;
pub mod config;
pub mod content_loss;
mod cycle_loss;
pub mod cyclegan;
pub mod data;
#[cfg(feature = "collective")]
pub mod data_parallel;
pub mod edge_smoothing;
mod error;
pub mod gan_loss;
pub mod gan_model;
pub mod grad_sync;
mod host_tensor;
pub mod image_pool;
pub mod metrics;
pub mod plot;
pub mod presets;
pub mod registry;
pub mod resume;
mod rng;
mod samples;
mod sections;
pub mod smoothing_cache;
mod state_files;
pub mod trainer;

pub use batch_source::{BatchSource, HostBatch, ReplayBatches};
pub use config::TrainConfig;
pub use cycle_loss::{cycle_loss, identity_loss};
pub use error::TrainError;
pub use gan_model::{GanModel, ModelSection};
pub use registry::{ModelKind, build_model};
pub use sections::{DataConfig, OutputConfig, ScheduleConfig};
pub use trainer::{RunOutcome, Trainer};
