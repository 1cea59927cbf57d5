//! Training: data, losses, one file per model behind one trait ([`GanModel`]), and the loop
//! (logging, samples, checkpoints, resume) written once for every model.

pub mod cartoongan;
pub mod checkpoint;
pub mod config;
pub mod content_loss;
pub mod cyclegan;
pub mod data;
#[cfg(feature = "collective")]
pub mod data_parallel;
pub mod edge_smoothing;
pub mod error;
pub mod gan_loss;
pub mod gan_model;
pub mod grad_sync;
pub mod image_pool;
pub mod metrics;
pub mod plot;
pub mod resume;
pub mod samples;
pub mod smoothing_cache;
pub mod trainer;

pub use config::TrainConfig;
pub use error::TrainError;
pub use gan_model::{GanModel, build_model};
pub use trainer::{RunOutcome, Trainer};
