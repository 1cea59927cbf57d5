//! What devices this machine and this build offer (`toongan devices`), and the one
//! `--device auto` picks: CUDA when usable, else a hardware wgpu adapter, else the CPU. A
//! software wgpu adapter is never picked automatically: it is slower than the CPU engine.

use super::wgpu_device::AdapterInfo;
use super::{DeviceChoice, DeviceError, WgpuAdapter};

/// The devices found, each backend with what it found or why it found nothing.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// CPU threads the CPU backends use.
    pub cpu_threads: usize,
    /// CUDA: device names and the driver's version, or why there is none (not built, no
    /// driver).
    pub cuda: Result<(Vec<String>, String), String>,
    /// wgpu: the graphics API and its adapters in `wgpu:N` order, or why there are none.
    pub wgpu: Result<(String, Vec<AdapterInfo>), String>,
}

/// The device `--device auto` picked, and why, in one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPick {
    /// The device.
    pub device: DeviceChoice,
    /// E.g. "cuda:0 (NVIDIA H200)" or "cpu (CUDA: …; wgpu: …)".
    pub reason: String,
}

impl Inventory {
    /// Probes every backend this binary was built with. Fast (no kernels are compiled).
    pub fn probe() -> Self {
        let cuda = super::cuda_devices().map_err(|e| short(&e));
        #[cfg(feature = "wgpu")]
        let wgpu = Ok((
            super::wgpu_device::graphics_api(),
            super::wgpu_device::adapters(),
        ));
        #[cfg(not(feature = "wgpu"))]
        let wgpu = Err(short(&DeviceError::WgpuNotBuilt));
        Self {
            cpu_threads: rayon::current_num_threads(),
            cuda,
            wgpu,
        }
    }

    /// `--device auto`: the first of CUDA device 0, the first hardware wgpu adapter, the CPU.
    pub fn auto(&self) -> AutoPick {
        let mut skipped = Vec::new();
        match &self.cuda {
            Ok((names, _)) if !names.is_empty() => {
                return AutoPick {
                    device: DeviceChoice::Cuda(0),
                    reason: format!("cuda:0 ({})", names[0]),
                };
            }
            Ok(_) => skipped.push("CUDA: the driver sees no device".to_string()),
            Err(why) => skipped.push(format!("CUDA: {why}")),
        }
        match &self.wgpu {
            Ok((api, adapters)) => {
                if let Some(gpu) = adapters.iter().find(|a| !a.is_software()) {
                    return AutoPick {
                        device: DeviceChoice::Wgpu(WgpuAdapter::Hardware(0)),
                        reason: format!("wgpu:0 ({})", gpu.describe()),
                    };
                }
                skipped.push(match adapters.first() {
                    Some(sw) => format!(
                        "wgpu: only the software adapter {} (slower than the CPU; \
                         --device wgpu:cpu uses it)",
                        sw.name
                    ),
                    None => format!("wgpu: no {api} adapter"),
                });
            }
            Err(why) => skipped.push(format!("wgpu: {why}")),
        }
        AutoPick {
            device: DeviceChoice::Cpu,
            reason: format!("cpu ({})", skipped.join("; ")),
        }
    }
}

/// A device error's text without the rebuild advice's backticks doubled up in a list.
fn short(e: &DeviceError) -> String {
    match e {
        DeviceError::NotBuilt => "not built (--features cuda)".to_string(),
        DeviceError::WgpuNotBuilt => "not built (--features wgpu)".to_string(),
        DeviceError::Unavailable { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Parses `--device`: a device name, or `auto`, which probes the machine and picks one. Returns
/// the device and, for `auto`, the line that says which it picked and why.
pub fn parse_device(text: &str) -> Result<(DeviceChoice, Option<String>), DeviceError> {
    if text.trim().eq_ignore_ascii_case("auto") {
        let pick = Inventory::probe().auto();
        Ok((pick.device, Some(pick.reason)))
    } else {
        Ok((text.parse()?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::wgpu_device::AdapterKind;

    fn adapter(name: &str, kind: AdapterKind) -> AdapterInfo {
        AdapterInfo {
            backend: "Vulkan".into(),
            name: name.into(),
            driver: "Mesa 25.0.7".into(),
            kind,
        }
    }

    fn inventory(cuda: Result<Vec<&str>, &str>, wgpu: Result<Vec<AdapterInfo>, &str>) -> Inventory {
        Inventory {
            cpu_threads: 2,
            cuda: cuda
                .map(|n| {
                    (
                        n.iter().map(|s| s.to_string()).collect(),
                        "CUDA 12.4".into(),
                    )
                })
                .map_err(str::to_string),
            wgpu: wgpu
                .map(|a| ("Vulkan".to_string(), a))
                .map_err(str::to_string),
        }
    }

    #[test]
    fn auto_prefers_cuda_then_a_hardware_adapter_then_the_cpu() {
        let gpu = adapter("AMD Radeon RX 7600", AdapterKind::Discrete);
        let sw = adapter("llvmpipe (LLVM 19.1.7, 256 bits)", AdapterKind::Software);

        let pick = inventory(Ok(vec!["NVIDIA H200"]), Ok(vec![gpu.clone()])).auto();
        assert_eq!(pick.device, DeviceChoice::Cuda(0));
        assert!(pick.reason.contains("NVIDIA H200"), "{}", pick.reason);

        let pick = inventory(Err("no driver"), Ok(vec![sw.clone(), gpu.clone()])).auto();
        assert_eq!(pick.device, DeviceChoice::Wgpu(WgpuAdapter::Hardware(0)));
        assert!(
            pick.reason.contains("AMD Radeon RX 7600"),
            "{}",
            pick.reason
        );

        let pick = inventory(Ok(vec![]), Ok(vec![sw])).auto();
        assert_eq!(pick.device, DeviceChoice::Cpu);
        assert!(pick.reason.contains("no device"), "{}", pick.reason);
        assert!(pick.reason.contains("only the software adapter llvmpipe"));

        let pick = inventory(Err("not built"), Err("not built")).auto();
        assert_eq!(pick.device, DeviceChoice::Cpu);
        assert_eq!(pick.reason, "cpu (CUDA: not built; wgpu: not built)");

        let pick = inventory(Err("not built"), Ok(vec![])).auto();
        assert!(pick.reason.contains("no Vulkan adapter"), "{}", pick.reason);
    }

    #[test]
    fn named_devices_parse_without_probing() {
        assert_eq!(parse_device("cpu").unwrap(), (DeviceChoice::Cpu, None));
        assert_eq!(
            parse_device("wgpu:cpu").unwrap(),
            (DeviceChoice::Wgpu(WgpuAdapter::Software), None)
        );
        assert!(parse_device("tpu").is_err());
    }

    #[test]
    fn auto_on_this_machine_names_its_pick() {
        let (device, reason) = parse_device("AUTO").unwrap();
        let reason = reason.expect("auto says why");
        assert!(reason.starts_with(&device.to_string()), "{reason}");
    }
}
