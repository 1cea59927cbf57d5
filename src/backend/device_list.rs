//! `toongan train --device cuda:0,cuda:1,...`: one or several devices of one backend. One
//! device runs as [`DeviceChoice`] does; several train data-parallel
//! ([`crate::train::data_parallel`]). `cpu,cpu` (or `cpu:0,cpu:1`) puts several replicas on
//! the one CPU device, sharing its cores: no faster, but it runs the data-parallel code where
//! there is no GPU (tests).

use std::str::FromStr;

use burn::tensor::backend::AutodiffBackend;

use super::{CpuAutodiff, DeviceChoice, DeviceError};

/// Why a device list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceListError {
    /// One entry is not a usable device.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The entries do not go together.
    #[error("--device {list}: {message}")]
    Invalid {
        /// The list as given.
        list: String,
        /// What is wrong and what to give instead.
        message: String,
    },
}

/// One device or several, comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList(Vec<DeviceChoice>);

impl From<DeviceChoice> for DeviceList {
    fn from(device: DeviceChoice) -> Self {
        Self(vec![device])
    }
}

/// Work that needs gradients, on one or several devices of one autodiff backend.
pub trait AutodiffDevicesTask {
    /// What the work returns.
    type Output;
    /// Runs the work on autodiff backend `B` with `devices` (one or more).
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Self::Output;
}

impl FromStr for DeviceList {
    type Err = DeviceListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let lower = part.to_ascii_lowercase();
            // `cpu:N` names the N-th CPU replica: the same device as `cpu`.
            let choice = match lower.strip_prefix("cpu:") {
                Some(n) if n.parse::<usize>().is_ok() => DeviceChoice::Cpu,
                _ => part.parse()?,
            };
            list.push(choice);
        }
        let first = list[0];
        if list
            .iter()
            .any(|d| std::mem::discriminant(d) != std::mem::discriminant(&first))
        {
            return Err(DeviceListError::Invalid {
                list: s.into(),
                message: "mixes kinds of device; data-parallel replicas are all cpu or all \
                          cuda:N (e.g. cuda:0,cuda:1)"
                    .into(),
            });
        }
        let cuda: Vec<_> = list
            .iter()
            .filter(|d| matches!(d, DeviceChoice::Cuda(_)))
            .collect();
        if let Some(d) = cuda
            .iter()
            .enumerate()
            .find_map(|(i, d)| cuda[..i].contains(d).then_some(d))
        {
            return Err(DeviceListError::Invalid {
                list: s.into(),
                message: format!("names {d} twice; give each GPU once (e.g. cuda:0,cuda:1)"),
            });
        }
        Ok(Self(list))
    }
}

impl std::fmt::Display for DeviceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.iter().map(DeviceChoice::to_string).collect();
        f.write_str(&names.join(","))
    }
}

impl DeviceList {
    /// The devices, in order (the first replica's device first).
    pub fn devices(&self) -> &[DeviceChoice] {
        &self.0
    }

    /// The single device, if only one was given.
    pub fn single(&self) -> Option<DeviceChoice> {
        (self.0.len() == 1).then(|| self.0[0])
    }

    /// Checks that every device is usable, and that this build trains on several.
    pub fn check(&self) -> Result<(), DeviceListError> {
        self.0.iter().try_for_each(|d| d.check())?;
        if self.0.len() > 1 && !cfg!(feature = "collective") {
            return Err(DeviceListError::Invalid {
                list: self.to_string(),
                message: "training on several devices needs a build with the collective \
                          feature: cargo build --release --features collective"
                    .into(),
            });
        }
        Ok(())
    }

    /// Runs `task` on [`CpuAutodiff`] (every entry `cpu`) or, for `cuda:N` entries, on
    /// [`super::CudaAutodiff`] with one device per entry.
    pub fn run_autodiff<T: AutodiffDevicesTask>(
        &self,
        task: T,
    ) -> Result<T::Output, DeviceListError> {
        match self.0[0] {
            DeviceChoice::Cpu => {
                Ok(task.run::<CpuAutodiff>(vec![Default::default(); self.0.len()]))
            }
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda(_) => {
                let devices = self
                    .0
                    .iter()
                    .map(|d| match d {
                        DeviceChoice::Cuda(i) => super::cuda_device(*i),
                        other => Err(DeviceError::Unknown(other.to_string())),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(task.run::<super::CudaAutodiff>(devices))
            }
            #[allow(unreachable_patterns)]
            other => {
                other.check()?;
                Err(DeviceListError::Invalid {
                    list: self.to_string(),
                    message: format!(
                        "no data-parallel training on {other} in this build; use cpu or \
                         cuda:N entries"
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_parse() {
        let l: DeviceList = "cuda:0, cuda:1".parse().unwrap();
        assert_eq!(
            l.devices(),
            [DeviceChoice::Cuda(0), DeviceChoice::Cuda(1)].as_slice()
        );
        assert_eq!(l.to_string(), "cuda:0,cuda:1");
        assert_eq!(l.single(), None);
        let l: DeviceList = "cpu:0,cpu:1".parse().unwrap();
        assert_eq!(
            l.devices(),
            [DeviceChoice::Cpu, DeviceChoice::Cpu].as_slice()
        );
        assert_eq!(
            "cpu".parse::<DeviceList>().unwrap().single(),
            Some(DeviceChoice::Cpu)
        );
        for bad in ["cpu,cuda:0", "cuda:0,cuda:0", "cpu,", "tpu:0", "cpu:x"] {
            assert!(bad.parse::<DeviceList>().is_err(), "{bad}");
        }
    }
}
