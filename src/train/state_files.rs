//! A network and its Adam optimizer in a checkpoint folder, written once for every model:
//! the network with burn's named MessagePack recorder at full precision, the optimizer's
//! state (moments, step count) beside it with the same recorder.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;

use super::TrainError;
use super::sections::ScheduleConfig;

/// The optimizer every model trains its networks with.
pub type Opt<M, B> = OptimizerAdaptor<Adam, M, B>;

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// A fresh Adam with the schedule's β1, β2 and ε.
pub fn adam<B: AutodiffBackend, M: AutodiffModule<B>>(schedule: &ScheduleConfig) -> Opt<M, B> {
    AdamConfig::new()
        .with_beta_1(schedule.beta1)
        .with_beta_2(schedule.beta2)
        .with_epsilon(schedule.epsilon)
        .init()
}

/// Writes `net` as `dir/<net_file>` and `optim`'s state as `dir/<optim_file>` (the recorder
/// adds the extension).
pub fn save_pair<B: AutodiffBackend, M: AutodiffModule<B>>(
    dir: &Path,
    (net_file, net): (&str, &M),
    (optim_file, optim): (&str, &Opt<M, B>),
) -> Result<(), TrainError> {
    let rec = Rec::new();
    let (net_path, optim_path) = (dir.join(net_file), dir.join(optim_file));
    net.clone()
        .save_file(&net_path, &rec)
        .map_err(|e| TrainError::checkpoint(&net_path, e))?;
    Recorder::<B>::record(&rec, optim.to_record(), optim_path.clone())
        .map_err(|e| TrainError::checkpoint(&optim_path, e))
}

/// Reads what [`save_pair`] wrote into `net` and `optim`, on `device`.
pub fn load_pair<B: AutodiffBackend, M: AutodiffModule<B>>(
    dir: &Path,
    (net_file, net): (&str, &mut M),
    (optim_file, optim): (&str, &mut Opt<M, B>),
    device: &B::Device,
) -> Result<(), TrainError> {
    let rec = Rec::new();
    let (net_path, optim_path) = (dir.join(net_file), dir.join(optim_file));
    *net = net
        .clone()
        .load_file(&net_path, &rec, device)
        .map_err(|e| TrainError::checkpoint(&net_path, e))?;
    let record = Recorder::<B>::load(&rec, optim_path.clone(), device)
        .map_err(|e| TrainError::checkpoint(&optim_path, e))?;
    *optim = optim.clone().load_record(record);
    Ok(())
}
