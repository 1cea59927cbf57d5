//! Training: data, losses, one file per model behind one trait ([`GanModel`]) found by name
//! in the registry ([`ModelKind`]), and the loop (logging, samples, checkpoints, resume)
//! written once for every model.
//!
//! - config: `config` ([`TrainConfig`], the run's `config.toml`), `sections` (data, schedule,
//!   outputs), `presets` ([`PRESETS`]), `registry` ([`MODELS`], [`build_model`]: models by
//!   name; how to add one);
//! - models: `cartoongan` ([`CartoonGan`]), `cyclegan` ([`CycleGan`]), each behind
//!   [`GanModel`] and [`ModelSection`];
//! - losses: `gan_loss` ([`GanLossKind`], adversarial), `content_loss` ([`FeatureNetwork`],
//!   VGG/ResNet features), `cycle_loss` (cycle consistency, identity), edge smoothing's data
//!   in `edge_smoothing` ([`EdgeSmoother`]);
//! - data: `data` (image folders, the loader), `batch_source` ([`BatchSource`], what the
//!   loader pulls from; [`ReplayBatches`], a fixed sequence from a file), `rng`,
//!   `image_pool` ([`ImagePool`]), `smoothing_cache` ([`SmoothingCache`]);
//! - the loop: `trainer` ([`Trainer`]), `checkpoint`, `state_files`, `resume`, `host_tensor`,
//!   `samples`, `metrics` ([`MetricsLog`]), `plot` ([`plot_losses`]); several devices:
//!   `grad_sync`, `data_parallel`.

mod batch_source;
mod cartoongan;
mod checkpoint;
mod config;
mod content_loss;
mod cycle_loss;
mod cyclegan;
mod data;
#[cfg(feature = "collective")]
mod data_parallel;
mod edge_smoothing;
mod error;
mod gan_loss;
mod gan_model;
mod grad_sync;
mod host_tensor;
mod image_pool;
mod metrics;
mod plot;
mod presets;
mod registry;
mod resume;
mod rng;
mod samples;
mod sections;
mod smoothing_cache;
mod state_files;
mod trainer;

pub use batch_source::{BatchSource, HostBatch, ReplayBatches};
pub use cartoongan::{CartoonGan, CartoonGanConfig};
pub use checkpoint::{
    TrainState, latest_checkpoint, read_state, save_checkpoint, verify_checkpoint,
};
pub use config::TrainConfig;
pub use content_loss::{
    ContentLoss, ContentLossConfig, FeatureNetError, FeatureNetKind, FeatureNetwork,
    InputNormalization,
};
pub use cycle_loss::{cycle_loss, identity_loss};
pub use cyclegan::{CycleGan, CycleGanConfig};
pub use data::{cached_smoothing, identity_smoothing, load_resized, run_smoothing};
#[cfg(feature = "collective")]
pub use data_parallel::{DataParallel, batch_share};
pub use edge_smoothing::{
    EdgeSmoother, EdgeSmootherConfig, SmoothingError, SmoothingMaps, rgb_to_gray,
};
pub use error::TrainError;
pub use gan_loss::GanLossKind;
pub use gan_model::{GanModel, Losses, ModelSection, Phase, seeded_init, try_seeded_init};
pub use grad_sync::GradSync;
pub use image_pool::ImagePool;
pub use metrics::{MetricsLog, MetricsRecord};
pub use plot::plot_losses;
pub use presets::PRESETS;
pub use registry::{MODELS, ModelKind, build_model};
pub use resume::{CONFIG_FILE, refuse_existing_run};
pub use sections::{DataConfig, OutputConfig, ScheduleConfig};
pub use smoothing_cache::{SmoothingCache, content_hash};
pub use trainer::{RunOutcome, Trainer};
