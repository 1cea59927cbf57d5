//! The training loop, written once for every [`GanModel`]: data on worker threads, the
//! init/adversarial schedule, progress bar, metrics log, sample grids, loss curves,
//! checkpoints, resume, Ctrl-C and NaN handling.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};

use super::batch_source::BatchSource;
use super::checkpoint::{TrainState, save_checkpoint};
use super::data::{Dataset, Loader, SmoothFn, validation_planes};
use super::gan_model::{GanModel, Phase};
use super::metrics::{MetricsLog, MetricsRecord};
use super::registry::build_model;
use super::resume::load_resume_point;
use super::{TrainConfig, TrainError};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// All epochs done; the final checkpoint is written.
    Finished {
        /// Steps done in total.
        steps: usize,
        /// The final checkpoint folder.
        checkpoint: PathBuf,
    },
    /// Stopped by the stop flag (Ctrl-C); a checkpoint was written to resume from.
    Interrupted {
        /// Steps done so far.
        steps: usize,
        /// The checkpoint folder.
        checkpoint: PathBuf,
    },
}

pub use super::resume::CONFIG_FILE;

/// Runs training for one run folder.
pub struct Trainer<B: AutodiffBackend> {
    /// The resolved config.
    pub config: TrainConfig,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The device the model trains on.
    pub device: B::Device,
    /// Set to stop after the current step (with a checkpoint); Ctrl-C sets it.
    pub stop: Arc<AtomicBool>,
    /// Edge smoothing of resized cartoons.
    pub smooth: Arc<SmoothFn>,
    /// With two or more: train data-parallel, one replica per device
    /// (`data_parallel`); `device` is then unused. Empty: one device.
    pub devices: Vec<B::Device>,
    /// Where batches come from instead of the config's image folders.
    batches: Option<Arc<dyn BatchSource>>,
    /// Stop (with a checkpoint, as on Ctrl-C) once this many steps are done.
    stop_at_step: Option<usize>,
}

impl<B: AutodiffBackend> Trainer<B>
where
    B::Device: Clone,
{
    /// A trainer; `smooth` is usually [`super::data::run_smoothing`], the run's cached
    /// edge smoothing.
    pub fn new(
        config: TrainConfig,
        run_dir: &Path,
        device: B::Device,
        smooth: Arc<SmoothFn>,
    ) -> Self {
        Self {
            config,
            run_dir: run_dir.to_path_buf(),
            device,
            stop: Arc::new(AtomicBool::new(false)),
            smooth,
            devices: Vec::new(),
            batches: None,
            stop_at_step: None,
        }
    }

    /// Trains on the batches of `source` (e.g. [`super::ReplayBatches`]) instead of the
    /// config's image folders (`data.photos`, `data.cartoons` are then unused). Its images must
    /// be `data.crop_size`² (the sample grids use that size).
    pub fn with_batches(mut self, source: Arc<dyn BatchSource>) -> Self {
        self.batches = Some(source);
        self
    }

    /// Stops once `step` steps are done in total, with a checkpoint to resume from, as the
    /// stop flag does ([`RunOutcome::Interrupted`]): a deterministic interruption.
    pub fn with_stop_at_step(mut self, step: usize) -> Self {
        self.stop_at_step = Some(step);
        self
    }

    /// Trains data-parallel on `devices` when there are two or more.
    pub fn with_devices(mut self, devices: Vec<B::Device>) -> Self {
        self.devices = devices;
        self
    }

    /// Reads the config a run folder saved (for `--resume`).
    pub fn saved_config(run_dir: &Path) -> Result<TrainConfig, TrainError> {
        TrainConfig::from_toml_file(&run_dir.join(CONFIG_FILE))
    }

    /// Trains from the run's latest checkpoint if it has one (else from scratch) to
    /// `config.train.epochs`.
    pub fn run(&self) -> Result<RunOutcome, TrainError> {
        let cfg = &self.config;
        cfg.validate()?;
        let out = |p: &Path, e: std::io::Error| TrainError::output(p, e);
        std::fs::create_dir_all(self.run_dir.join("samples")).map_err(|e| out(&self.run_dir, e))?;

        let source: Arc<dyn BatchSource> = match &self.batches {
            Some(source) => {
                if source.size() != cfg.data.crop_size {
                    return Err(TrainError::Config {
                        path: "data.crop_size".into(),
                        message: format!(
                            "is {}, but the batches to train on are {}²",
                            cfg.data.crop_size,
                            source.size()
                        ),
                    });
                }
                source.clone()
            }
            None => Arc::new(Dataset::open(
                &cfg.data,
                cfg.train.batch_size,
                cfg.train.seed,
                self.smooth.clone(),
            )?),
        };
        let steps = source.steps_per_epoch(cfg.train.max_steps_per_epoch);
        let mut model: Box<dyn GanModel<B>> = if self.devices.len() > 1 {
            #[cfg(feature = "collective")]
            {
                Box::new(super::data_parallel::DataParallel::<B>::new(
                    cfg,
                    &self.devices,
                )?)
            }
            #[cfg(not(feature = "collective"))]
            {
                return Err(TrainError::Model(
                    "training on several devices needs a build with the collective feature: \
                     cargo build --release --features collective"
                        .into(),
                ));
            }
        } else {
            build_model::<B>(cfg, &self.device)?
        };
        let log = MetricsLog::new(&self.run_dir);
        let mut state = TrainState {
            epoch: 0,
            step_in_epoch: 0,
            global_step: 0,
            seed: cfg.train.seed,
        };
        let mut last_checkpoint = String::from("(none yet)");
        if let Some((dir, saved)) = load_resume_point(&self.run_dir, model.as_mut())? {
            state = saved;
            last_checkpoint = dir.display().to_string();
        }
        // Steps logged after the checkpoint (or, starting afresh, by a run killed before its
        // first checkpoint) are done again: drop their records.
        if state.global_step > 0 || log.path().exists() {
            log.truncate_after(state.global_step)?;
        }
        // Only now that a resume has loaded (or there was nothing to resume) does the run's
        // config change: a failed resume leaves the folder as it was.
        let config_path = self.run_dir.join(CONFIG_FILE);
        crate::imageio::atomic_write(&config_path, cfg.to_toml().as_bytes())
            .map_err(|e| TrainError::output(&config_path, e))?;
        let (val, n_val) = match &cfg.data.validation {
            Some(dir) => {
                let photos = Dataset::open(
                    &super::sections::DataConfig {
                        photos: dir.clone(),
                        cartoons: dir.clone(),
                        ..cfg.data.clone()
                    },
                    1,
                    0,
                    self.smooth.clone(),
                )?
                .photos;
                validation_planes(
                    &photos,
                    cfg.data.n_validation,
                    cfg.data.load_size,
                    cfg.data.crop_size,
                )?
            }
            None => source.validation(cfg.data.n_validation)?,
        };

        let total = cfg.train.epochs * steps;
        let bar = self.progress_bar(total as u64, state.global_step as u64);
        let loader = Loader::spawn(
            source,
            cfg.data.workers,
            cfg.data.prefetch,
            (state.epoch, state.step_in_epoch),
            (cfg.train.epochs, steps),
        )?;
        let init_epochs = cfg.init_epochs();
        let mut interval = (Instant::now(), 0usize);
        let mut saved_at = state.global_step;
        while state.epoch < cfg.train.epochs {
            let Some(batch) = loader.next_batch() else {
                break;
            };
            let batch = batch?;
            let phase = if batch.epoch < init_epochs {
                Phase::Init
            } else {
                Phase::Adversarial
            };
            let losses = model.train_step(&batch, phase)?;
            if let Some((name, value)) = losses.iter().find(|(_, v)| !v.is_finite()) {
                bar.abandon();
                return Err(TrainError::NonFinite {
                    name: name.clone(),
                    value: *value,
                    step: state.global_step + 1,
                    last_checkpoint,
                });
            }
            state.global_step += 1;
            interval.1 += 1;
            state.step_in_epoch += 1;
            let epoch_end = state.step_in_epoch == steps;
            let epoch = state.epoch;
            if epoch_end {
                state.epoch += 1;
                state.step_in_epoch = 0;
            }
            let every = |n: usize| n > 0 && state.global_step.is_multiple_of(n);
            let summary: Vec<String> = losses.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            bar.set_position(state.global_step as u64);
            bar.set_message(format!(
                "epoch {}/{} {}",
                epoch + 1,
                cfg.train.epochs,
                summary.join(" ")
            ));
            if every(cfg.output.log_every) || epoch_end {
                let secs = interval.0.elapsed().as_secs_f64() / interval.1.max(1) as f64;
                interval = (Instant::now(), 0);
                log.append(&MetricsRecord {
                    step: state.global_step,
                    epoch,
                    phase: if phase == Phase::Init {
                        "init"
                    } else {
                        "adversarial"
                    }
                    .into(),
                    losses: losses.iter().cloned().collect(),
                    seconds_per_step: secs,
                })?;
            }
            if every(cfg.output.sample_every) || epoch_end {
                let path = self.run_dir.join("samples").join(format!(
                    "epoch-{:03}_step-{:09}.png",
                    epoch + 1,
                    state.global_step
                ));
                let generated = model.visuals(&val, n_val, cfg.data.crop_size);
                super::samples::write_grid(&path, &val, &generated, n_val, cfg.data.crop_size)?;
            }
            if epoch_end {
                let path = self.run_dir.join("loss_curves.png");
                super::plot::plot_losses(&path, &log.read()?)?;
            }
            let stopping =
                self.stop.load(Ordering::SeqCst) || self.stop_at_step == Some(state.global_step);
            if every(cfg.output.checkpoint_every) || epoch_end || stopping {
                let dir = save_checkpoint(
                    &self.run_dir,
                    model.as_ref(),
                    &state,
                    cfg.output.keep_checkpoints,
                )?;
                saved_at = state.global_step;
                last_checkpoint = dir.display().to_string();
                if stopping && state.epoch < cfg.train.epochs {
                    bar.abandon();
                    return Ok(RunOutcome::Interrupted {
                        steps: state.global_step,
                        checkpoint: dir,
                    });
                }
            }
        }
        bar.finish_and_clear();
        let checkpoint = if saved_at == state.global_step && saved_at > 0 {
            PathBuf::from(last_checkpoint)
        } else {
            save_checkpoint(
                &self.run_dir,
                model.as_ref(),
                &state,
                cfg.output.keep_checkpoints,
            )?
        };
        Ok(RunOutcome::Finished {
            steps: state.global_step,
            checkpoint,
        })
    }

    fn progress_bar(&self, total: u64, position: u64) -> ProgressBar {
        if !self.config.output.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:30} {pos}/{len} {msg} (eta {eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_position(position);
        bar
    }
}
