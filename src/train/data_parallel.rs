//! One training run on several devices, data-parallel: one replica of the model per device,
//! each on its own thread, each stepping on its share of every batch, gradients averaged
//! between them with burn-collective ([`super::grad_sync`]) before each optimizer step, as
//! PyTorch's DistributedDataParallel does. [`DataParallel`] is itself a [`GanModel`], so the
//! training loop ([`super::Trainer`]) is unchanged: it saves the first replica's state as the
//! run's one checkpoint, and every replica loads a checkpoint to resume, so a run may resume
//! on any number of devices.
//!
//! Batch norm stays per replica (PyTorch DDP without SyncBatchNorm): each normalizes its share
//! with that share's statistics and keeps its own running statistics, so batch-norm models are
//! not exactly the one-device run at the same total batch; instance-norm models are (up to
//! floating-point rounding), since their normalization is per sample. CycleGAN's image pools
//! are per replica too. Replicas start equal because each builds its networks with the run's
//! seed, every parameter initialized inside [`super::gan_model::seeded_init`]; the checkpoint
//! holds the first replica's running statistics and optimizer state.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;

use burn::tensor::backend::AutodiffBackend;
use burn_collective::{CollectiveConfig, PeerId, finish_collective, register, reset_collective};

use super::data::HostBatch;
use super::gan_model::{GanModel, Losses, Phase};
use super::grad_sync::GradSync;
use super::registry::build_model;
use super::{TrainConfig, TrainError};

/// burn-collective's local server is one per backend type and process: one data-parallel
/// group at a time (tests run in parallel threads).
static GROUP: Mutex<()> = Mutex::new(());

enum Command {
    Step(HostBatch, Phase),
    Visuals(Vec<f32>, usize, usize),
    SaveState(PathBuf),
    SaveGenerator(PathBuf),
    LoadState(PathBuf),
}

enum Reply {
    Ready(Result<&'static str, TrainError>),
    Losses(Result<Losses, TrainError>),
    Visuals(Vec<f32>),
    Done(Result<(), TrainError>),
    /// The replica's thread panicked (message).
    Died(String),
}

/// Sends [`Reply::Died`] if the replica's thread unwinds.
struct DeathNotice {
    index: usize,
    replies: Sender<(usize, Reply)>,
}

impl Drop for DeathNotice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.replies.send((
                self.index,
                Reply::Died("panicked (its message is on stderr)".into()),
            ));
        }
    }
}

/// The replicas of a model on several devices, driven as one [`GanModel`].
pub struct DataParallel<B: AutodiffBackend> {
    commands: Vec<Sender<Command>>,
    replies: Receiver<(usize, Reply)>,
    threads: Vec<JoinHandle<()>>,
    name: &'static str,
    /// Set when a replica failed: the others may be blocked in an all-reduce, so they are not
    /// joined on drop.
    failed: std::cell::Cell<bool>,
    _group: MutexGuard<'static, ()>,
    _backend: std::marker::PhantomData<B>,
}

fn replica_error(index: usize, message: impl std::fmt::Display) -> TrainError {
    TrainError::Model(format!("data-parallel replica {index}: {message}"))
}

fn run_replica<B: AutodiffBackend>(
    index: usize,
    count: usize,
    config: TrainConfig,
    device: B::Device,
    commands: Receiver<Command>,
    replies: Sender<(usize, Reply)>,
) {
    let _notice = DeathNotice {
        index,
        replies: replies.clone(),
    };
    let peer = PeerId::from(index);
    let collective = CollectiveConfig::default().with_num_devices(count);
    let built = register::<B::InnerBackend>(peer, device.clone(), collective)
        .map_err(|e| replica_error(index, format!("cannot join the collective: {e:?}")))
        .and_then(|()| build_model::<B>(&config, &device))
        .and_then(|mut m| {
            m.set_grad_sync(GradSync::new(index))?;
            Ok(m)
        });
    let mut model = match built {
        Ok(m) => {
            let _ = replies.send((index, Reply::Ready(Ok(m.name()))));
            m
        }
        Err(e) => {
            let _ = replies.send((index, Reply::Ready(Err(e))));
            return;
        }
    };
    for command in commands {
        let reply = match command {
            Command::Step(batch, phase) => Reply::Losses(model.train_step(&batch, phase)),
            Command::Visuals(photos, n, size) => Reply::Visuals(model.visuals(&photos, n, size)),
            Command::SaveState(dir) => Reply::Done(model.save_state(&dir)),
            Command::SaveGenerator(path) => Reply::Done(model.save_generator(&path)),
            Command::LoadState(dir) => Reply::Done(model.load_state(&dir)),
        };
        if replies.send((index, reply)).is_err() {
            break;
        }
    }
    let _ = finish_collective::<B::InnerBackend>(peer);
}

impl<B: AutodiffBackend> DataParallel<B>
where
    B::Device: Clone,
{
    /// One replica of the model `config` names on each of `devices` (two or more; the same
    /// device may appear several times, e.g. the CPU, whose replicas then share its cores).
    /// `config.train.batch_size` must split evenly over them.
    pub fn new(config: &TrainConfig, devices: &[B::Device]) -> Result<Self, TrainError> {
        let count = devices.len();
        let batch = config.train.batch_size;
        if count < 2 {
            return Err(TrainError::Model(
                "data-parallel training needs two or more devices".into(),
            ));
        }
        if !batch.is_multiple_of(count) {
            return Err(TrainError::Model(format!(
                "batch size {batch} does not split evenly over {count} devices: use a multiple \
                 of {count} (each replica takes batch/{count} images; unequal shares would \
                 weigh images unequally in the averaged gradient)"
            )));
        }
        let group = GROUP.lock().unwrap_or_else(|p| p.into_inner());
        reset_collective::<B::InnerBackend>();
        let (reply_tx, replies) = mpsc::channel();
        let mut commands = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for (index, device) in devices.iter().enumerate() {
            let (tx, rx) = mpsc::channel();
            let (config, device, reply_tx) = (config.clone(), device.clone(), reply_tx.clone());
            let thread = std::thread::Builder::new()
                .name(format!("replica-{index}"))
                .spawn(move || run_replica::<B>(index, count, config, device, rx, reply_tx))
                .map_err(|e| replica_error(index, format!("cannot start its thread: {e}")))?;
            commands.push(tx);
            threads.push(thread);
        }
        let mut dp = Self {
            commands,
            replies,
            threads,
            name: "",
            failed: std::cell::Cell::new(false),
            _group: group,
            _backend: std::marker::PhantomData,
        };
        for _ in 0..count {
            match dp.reply()? {
                (_, Reply::Ready(Ok(name))) => dp.name = name,
                (_, Reply::Ready(Err(e))) => return Err(dp.fail(e)),
                (i, _) => return Err(dp.fail(replica_error(i, "unexpected reply"))),
            }
        }
        Ok(dp)
    }

    /// Replicas.
    pub fn replicas(&self) -> usize {
        self.commands.len()
    }

    fn fail(&self, e: TrainError) -> TrainError {
        self.failed.set(true);
        e
    }

    fn reply(&self) -> Result<(usize, Reply), TrainError> {
        match self.replies.recv() {
            Ok((i, Reply::Died(why))) => Err(self.fail(replica_error(i, why))),
            Ok(r) => Ok(r),
            Err(_) => Err(self.fail(TrainError::Model(
                "every data-parallel replica has stopped".into(),
            ))),
        }
    }

    fn send(&self, index: usize, command: Command) -> Result<(), TrainError> {
        self.commands[index]
            .send(command)
            .map_err(|_| self.fail(replica_error(index, "has stopped")))
    }

    /// Sends one command to replica 0 and waits for its reply.
    fn ask_first(&self, command: Command) -> Result<Reply, TrainError> {
        self.send(0, command)?;
        Ok(self.reply()?.1)
    }

    /// Sends each replica its command and collects every `Done`.
    fn all_done(&self, command: impl Fn() -> Command) -> Result<(), TrainError> {
        for i in 0..self.replicas() {
            self.send(i, command())?;
        }
        for _ in 0..self.replicas() {
            match self.reply()? {
                (_, Reply::Done(Ok(()))) => {}
                (_, Reply::Done(Err(e))) => return Err(self.fail(e)),
                (i, _) => return Err(self.fail(replica_error(i, "unexpected reply"))),
            }
        }
        Ok(())
    }
}

/// Share `index` of `count` equal shares of a batch.
pub fn batch_share(batch: &HostBatch, index: usize, count: usize) -> HostBatch {
    let n = batch.n / count;
    let per = 3 * batch.size * batch.size;
    let range = index * n * per..(index + 1) * n * per;
    HostBatch {
        photos: batch.photos[range.clone()].to_vec(),
        cartoons: batch.cartoons[range.clone()].to_vec(),
        smoothed: batch.smoothed[range].to_vec(),
        n,
        size: batch.size,
        epoch: batch.epoch,
        step_in_epoch: batch.step_in_epoch,
    }
}

impl<B: AutodiffBackend> GanModel<B> for DataParallel<B>
where
    B::Device: Clone,
{
    fn name(&self) -> &'static str {
        self.name
    }

    /// Each replica steps on its share; the losses reported are the mean over replicas (each
    /// replica's loss is the mean over its share, so this is the whole batch's loss).
    fn train_step(&mut self, batch: &HostBatch, phase: Phase) -> Result<Losses, TrainError> {
        let count = self.replicas();
        if !batch.n.is_multiple_of(count) {
            return Err(TrainError::Model(format!(
                "a batch of {} images does not split over {count} replicas",
                batch.n
            )));
        }
        for i in 0..count {
            self.send(i, Command::Step(batch_share(batch, i, count), phase))?;
        }
        let mut per_replica: Vec<Option<Losses>> = vec![None; count];
        for _ in 0..count {
            match self.reply()? {
                (i, Reply::Losses(Ok(l))) => per_replica[i] = Some(l),
                (_, Reply::Losses(Err(e))) => return Err(self.fail(e)),
                (i, _) => return Err(self.fail(replica_error(i, "unexpected reply"))),
            }
        }
        let mut mean: Losses = per_replica[0].clone().unwrap_or_default();
        for (name, value) in &mut mean {
            let sum: f64 = per_replica
                .iter()
                .flatten()
                .filter_map(|l| l.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
                .sum();
            *value = sum / count as f64;
        }
        Ok(mean)
    }

    fn visuals(&self, photos: &[f32], n: usize, size: usize) -> Vec<f32> {
        match self.ask_first(Command::Visuals(photos.to_vec(), n, size)) {
            Ok(Reply::Visuals(v)) => v,
            _ => Vec::new(),
        }
    }

    fn save_state(&self, dir: &Path) -> Result<(), TrainError> {
        match self.ask_first(Command::SaveState(dir.to_path_buf()))? {
            Reply::Done(r) => r,
            _ => Err(self.fail(replica_error(0, "unexpected reply"))),
        }
    }

    fn load_state(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.all_done(|| Command::LoadState(dir.to_path_buf()))
    }

    fn save_generator(&self, path: &Path) -> Result<(), TrainError> {
        match self.ask_first(Command::SaveGenerator(path.to_path_buf()))? {
            Reply::Done(r) => r,
            _ => Err(self.fail(replica_error(0, "unexpected reply"))),
        }
    }
}

impl<B: AutodiffBackend> Drop for DataParallel<B> {
    fn drop(&mut self) {
        self.commands.clear();
        if !self.failed.get() {
            for thread in self.threads.drain(..) {
                let _ = thread.join();
            }
        }
    }
}
