//! What every model implements: [`GanModel`] (one training step of its networks, its state on
//! disk) and [`ModelSection`] (what its config section tells the rest of training). The
//! registry that finds a model by name is [`super::registry::ModelKind`].

use std::convert::Infallible;
use std::path::Path;
use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor};

use super::TrainError;
use super::data::HostBatch;
use super::sections::ScheduleConfig;

/// Which phase of training a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Generator initialization: reconstruction losses only, no discriminator.
    Init,
    /// Full adversarial training.
    Adversarial,
}

/// Named scalar losses of one step, in a stable order (the metrics log's columns).
pub type Losses = Vec<(String, f64)>;

/// A trainable GAN: its networks, optimizers and losses. The training loop
/// ([`super::Trainer`]) owns data, logging, samples, checkpoints and resume.
pub trait GanModel<B: AutodiffBackend> {
    /// Registry name (e.g. "cartoongan").
    fn name(&self) -> &'static str;

    /// Runs one optimisation step on a batch and returns its losses.
    fn train_step(&mut self, batch: &HostBatch, phase: Phase) -> Result<Losses, TrainError>;

    /// Translates photos (NCHW planes in [-1, 1], RGB, `n` images of `size`²) with the
    /// photo→cartoon generator in inference mode; returns planes in [-1, 1].
    fn visuals(&self, photos: &[f32], n: usize, size: usize) -> Vec<f32>;

    /// Writes everything needed to resume (networks, optimizer states) into `dir`.
    fn save_state(&self, dir: &Path) -> Result<(), TrainError>;

    /// Restores what [`GanModel::save_state`] wrote.
    fn load_state(&mut self, dir: &Path) -> Result<(), TrainError>;

    /// Writes the photo→cartoon generator as a file `toongan cartoonize --model` reads.
    fn save_generator(&self, path: &Path) -> Result<(), TrainError>;

    /// Makes this model one data-parallel replica: from now on it averages its gradients
    /// with the other replicas' before each optimizer step ([`GradSync`](super::GradSync)).
    fn set_grad_sync(&mut self, sync: super::grad_sync::GradSync) -> Result<(), TrainError> {
        let _ = sync;
        Err(TrainError::Model(format!(
            "{} cannot train data-parallel (on several devices) yet",
            self.name()
        )))
    }
}

/// Runs `init` right after seeding the backend's random generator with `seed`, holding a
/// process-wide lock, and gives every parameter of the module it returns its value before the
/// lock is released.
///
/// Both halves matter. The backend's generator is global, so without the lock two models built
/// at once on different threads would draw from it interleaved. And burn 0.21 initializes a
/// parameter lazily, at its first use, from that same generator (and each clone of a still-lazy
/// parameter draws its own value): left lazy, a model's weights would depend on which of its
/// layers ran first and on what other threads drew meanwhile, so two data-parallel replicas, or
/// a resumed and an uninterrupted run, would not start from the same weights.
pub fn seeded_init<B: Backend, M: Module<B>>(
    device: &B::Device,
    seed: u64,
    init: impl FnOnce() -> M,
) -> M {
    match try_seeded_init::<B, M, Infallible>(device, seed, || Ok(init())) {
        Ok(module) => module,
        Err(never) => match never {},
    }
}

/// [`seeded_init`] for an `init` that may fail (a feature network read from a file).
pub fn try_seeded_init<B: Backend, M: Module<B>, E>(
    device: &B::Device,
    seed: u64,
    init: impl FnOnce() -> Result<M, E>,
) -> Result<M, E> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    B::seed(device, seed);
    let module = init()?;
    module.visit(&mut Materialize);
    Ok(module)
}

/// Forces every lazy parameter it visits to take its value now (see [`seeded_init`]).
struct Materialize;

impl<B: Backend> ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        let _ = param.val();
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        let _ = param.val();
    }
}

/// A model's own config section (`[cartoongan]`, `[cyclegan]` in `config.toml`): what the rest
/// of training needs to know of the model before it is built. Each model's file implements it
/// for its config; [`super::registry::ModelKind`] picks the one `model` names.
pub trait ModelSection {
    /// Initialization epochs when `train.init_epochs` is unset.
    fn default_init_epochs(&self) -> usize;

    /// Whether the model uses the edge-smoothed cartoons (else the loader need not make them).
    fn needs_edge_smoothing(&self) -> bool;

    /// Checks values that would otherwise fail deep inside a run; the message names the field.
    fn validate(&self, schedule: &ScheduleConfig) -> Result<(), String> {
        let _ = schedule;
        Ok(())
    }

    /// This section's part of the `tiny` preset (small widths and depths, for tests and CI).
    fn apply_tiny(&mut self);
}
