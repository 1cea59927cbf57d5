//! `--device wgpu[:N]` and `wgpu:cpu`: the adapters burn's wgpu backend can run on, and the
//! choice of one before any work, so a missing or software-only driver is a clear error and
//! not a panic deep inside cubecl.
//!
//! burn's wgpu backend (cubecl 0.10) talks to one graphics API per platform: Vulkan on Linux
//! and Windows, Metal on macOS. The adapters listed here are the ones that API reports, in its
//! order. *Hardware* adapters (discrete, integrated, virtual GPUs) are numbered `wgpu:0`,
//! `wgpu:1`, …; a *software* adapter (Mesa's lavapipe/llvmpipe, SwiftShader: device type CPU)
//! is only used when asked for by name, `wgpu:cpu`, because the CPU engine is faster than a GPU
//! emulated on the CPU. CI uses `wgpu:cpu` to run the GPU code path without a GPU.

/// Which wgpu adapter `--device` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WgpuAdapter {
    /// The N-th hardware adapter in `toongan devices` order (`wgpu` is `wgpu:0`).
    Hardware(usize),
    /// The software adapter (`wgpu:cpu`): the GPU code path run on the CPU, for tests.
    Software,
}

impl std::fmt::Display for WgpuAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WgpuAdapter::Hardware(n) => write!(f, "wgpu:{n}"),
            WgpuAdapter::Software => f.write_str("wgpu:cpu"),
        }
    }
}

impl WgpuAdapter {
    /// Parses the part after `wgpu` (`""`, `":N"` or `":cpu"`); `None` if it is neither.
    pub(crate) fn parse_suffix(rest: &str) -> Option<Self> {
        match rest {
            "" => Some(WgpuAdapter::Hardware(0)),
            ":cpu" => Some(WgpuAdapter::Software),
            other => other
                .strip_prefix(':')
                .and_then(|n| n.parse().ok())
                .map(WgpuAdapter::Hardware),
        }
    }
}

/// What kind of device an adapter is (wgpu's `DeviceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdapterKind {
    /// A GPU with its own memory.
    Discrete,
    /// A GPU sharing the CPU's memory.
    Integrated,
    /// A virtual or hosted GPU (a VM's passthrough or paravirtual device).
    Virtual,
    /// A GPU emulated on the CPU (lavapipe, llvmpipe, SwiftShader, WARP).
    Software,
    /// A device the driver does not classify.
    Other,
}

impl AdapterKind {
    /// The word `toongan devices` prints.
    pub fn label(self) -> &'static str {
        match self {
            AdapterKind::Discrete => "discrete GPU",
            AdapterKind::Integrated => "integrated GPU",
            AdapterKind::Virtual => "virtual GPU",
            AdapterKind::Software => "software (CPU)",
            AdapterKind::Other => "other",
        }
    }
}

/// One adapter the wgpu backend can run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// The graphics API (Vulkan, Metal).
    pub backend: String,
    /// The adapter's name, e.g. "AMD Radeon RX 7600" or "llvmpipe (LLVM 19.1.7, 256 bits)".
    pub name: String,
    /// Driver name and version as the driver reports them.
    pub driver: String,
    /// Hardware or software, and which kind.
    pub kind: AdapterKind,
}

impl AdapterInfo {
    /// Whether the adapter emulates a GPU on the CPU.
    pub fn is_software(&self) -> bool {
        self.kind == AdapterKind::Software
    }

    /// "name (backend, driver)", for messages.
    pub fn describe(&self) -> String {
        if self.driver.is_empty() {
            format!("{} ({})", self.name, self.backend)
        } else {
            format!("{} ({}, {})", self.name, self.backend, self.driver)
        }
    }
}

/// cubecl's name for an adapter: its device type and its index among adapters of that type
/// (cubecl's `WgpuDevice`, kept here so the choice is testable without the `wgpu` feature).
// Used by `wgpu_device` (the `wgpu` feature) and by the unit tests, which check the choice
// without the feature.
#[cfg_attr(not(any(feature = "wgpu", test)), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CubeclAdapter {
    /// `WgpuDevice::DiscreteGpu(i)`.
    Discrete(usize),
    /// `WgpuDevice::IntegratedGpu(i)`.
    Integrated(usize),
    /// `WgpuDevice::VirtualGpu(i)`.
    Virtual(usize),
    /// `WgpuDevice::Cpu` (cubecl takes the first software adapter).
    Cpu,
}

/// Why `choice` names no adapter of `adapters`: the message says what was found and what to do.
// As `CubeclAdapter`: for the `wgpu` feature and the unit tests.
#[cfg_attr(not(any(feature = "wgpu", test)), allow(dead_code))]
fn not_found(adapters: &[AdapterInfo], choice: WgpuAdapter, api: &str) -> String {
    let software: Vec<String> = adapters
        .iter()
        .filter(|a| a.is_software())
        .map(AdapterInfo::describe)
        .collect();
    let hardware = adapters.iter().filter(|a| !a.is_software()).count();
    match choice {
        _ if adapters.is_empty() => format!(
            "no {api} adapter found. Install your GPU's {api} driver (Linux: mesa-vulkan-drivers \
             for AMD and Intel, the NVIDIA driver for NVIDIA), or use --device cpu"
        ),
        WgpuAdapter::Software => format!(
            "no software {api} adapter found (Debian/Ubuntu: apt-get install mesa-vulkan-drivers)"
        ),
        WgpuAdapter::Hardware(_) if hardware == 0 => format!(
            "no GPU found, only the software adapter {}: it emulates a GPU on the CPU and is \
             slower than --device cpu. Install your GPU's {api} driver, or ask for the software \
             adapter by name with --device wgpu:cpu (for tests)",
            software.join(", ")
        ),
        WgpuAdapter::Hardware(n) => format!(
            "there is no hardware adapter {n}: found {hardware} (wgpu:0 to wgpu:{}; `toongan \
             devices` lists them)",
            hardware - 1
        ),
    }
}

/// The adapter `choice` names among `adapters` (in the graphics API's order), as cubecl's
/// device, and the adapter itself.
///
/// Hardware adapters are numbered across types in the API's order; cubecl numbers them within
/// their type, so `wgpu:1` may be `IntegratedGpu(0)`. An adapter of type "other" is reachable in
/// cubecl only as the fallback of a type with fewer adapters than its index; when none is, it is
/// reported as unusable rather than silently replaced by another adapter.
// As `CubeclAdapter`: for the `wgpu` feature and the unit tests.
#[cfg_attr(not(any(feature = "wgpu", test)), allow(dead_code))]
pub fn select(
    adapters: &[AdapterInfo],
    choice: WgpuAdapter,
    api: &str,
) -> Result<(CubeclAdapter, AdapterInfo), String> {
    let n = match choice {
        WgpuAdapter::Software => {
            return adapters
                .iter()
                .find(|a| a.is_software())
                .map(|a| (CubeclAdapter::Cpu, a.clone()))
                .ok_or_else(|| not_found(adapters, choice, api));
        }
        WgpuAdapter::Hardware(n) => n,
    };
    let (pos, info) = adapters
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_software())
        .nth(n)
        .ok_or_else(|| not_found(adapters, choice, api))?;
    let before = |kind: AdapterKind| adapters[..pos].iter().filter(|a| a.kind == kind).count();
    let count = |kind: AdapterKind| adapters.iter().filter(|a| a.kind == kind).count();
    let device = match info.kind {
        AdapterKind::Discrete => CubeclAdapter::Discrete(before(AdapterKind::Discrete)),
        AdapterKind::Integrated => CubeclAdapter::Integrated(before(AdapterKind::Integrated)),
        AdapterKind::Virtual => CubeclAdapter::Virtual(before(AdapterKind::Virtual)),
        AdapterKind::Software => unreachable!("software adapters were filtered out"),
        AdapterKind::Other => {
            // cubecl: `DiscreteGpu(i)` with fewer than i + 1 discrete GPUs takes the i-th
            // adapter of type "other"; likewise for the other types.
            let i = before(AdapterKind::Other);
            if count(AdapterKind::Discrete) <= i {
                CubeclAdapter::Discrete(i)
            } else if count(AdapterKind::Integrated) <= i {
                CubeclAdapter::Integrated(i)
            } else if count(AdapterKind::Virtual) <= i {
                CubeclAdapter::Virtual(i)
            } else {
                return Err(format!(
                    "{} is an adapter of unknown type that burn's wgpu backend cannot select \
                     next to the other GPUs; use another wgpu:N",
                    info.describe()
                ));
            }
        }
    };
    Ok((device, info.clone()))
}

#[cfg(feature = "wgpu")]
pub use probe::{WgpuDevice, adapters, graphics_api, wgpu_device};

#[cfg(feature = "wgpu")]
mod probe {
    use super::{AdapterInfo, AdapterKind, CubeclAdapter, WgpuAdapter, select};
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};

    pub use burn::backend::wgpu::WgpuDevice;

    /// The graphics API burn's wgpu backend uses on this platform (Vulkan, Metal).
    pub fn graphics_api() -> String {
        format!("{:?}", AutoGraphicsApi::backend())
    }

    /// The adapters burn's wgpu backend can use, in the order it numbers them. Empty when the
    /// graphics API has no driver (no Vulkan loader, no ICD).
    pub fn adapters() -> Vec<AdapterInfo> {
        let backend = AutoGraphicsApi::backend();
        // Only burn's API: creating every backend (`Backends::all()`) would also start OpenGL,
        // whose EGL probe connects to Wayland.
        let mut desc = ::wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backend.into();
        let instance = ::wgpu::Instance::new(desc);
        let future = instance.enumerate_adapters(backend.into());
        // Native enumeration completes at once; its future is ready on the first poll.
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let list = match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(list) => list,
            std::task::Poll::Pending => Vec::new(),
        };
        list.iter()
            .map(|adapter| {
                let info = adapter.get_info();
                let kind = match info.device_type {
                    ::wgpu::DeviceType::DiscreteGpu => AdapterKind::Discrete,
                    ::wgpu::DeviceType::IntegratedGpu => AdapterKind::Integrated,
                    ::wgpu::DeviceType::VirtualGpu => AdapterKind::Virtual,
                    ::wgpu::DeviceType::Cpu => AdapterKind::Software,
                    ::wgpu::DeviceType::Other => AdapterKind::Other,
                };
                let driver = [info.driver.trim(), info.driver_info.trim()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                AdapterInfo {
                    backend: format!("{:?}", info.backend),
                    name: info.name.trim().to_string(),
                    driver,
                    kind,
                }
            })
            .collect()
    }

    /// burn's device for `choice`, after checking that the adapter exists (a clear error
    /// instead of cubecl's panic on first use); also returns the adapter.
    pub fn wgpu_device(choice: WgpuAdapter) -> Result<(WgpuDevice, AdapterInfo), String> {
        let (device, info) = select(&adapters(), choice, &graphics_api())?;
        let device = match device {
            CubeclAdapter::Discrete(i) => WgpuDevice::DiscreteGpu(i),
            CubeclAdapter::Integrated(i) => WgpuDevice::IntegratedGpu(i),
            CubeclAdapter::Virtual(i) => WgpuDevice::VirtualGpu(i),
            CubeclAdapter::Cpu => WgpuDevice::Cpu,
        };
        Ok((device, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, kind: AdapterKind) -> AdapterInfo {
        AdapterInfo {
            backend: "Vulkan".into(),
            name: name.into(),
            driver: String::new(),
            kind,
        }
    }

    #[test]
    fn suffixes_parse() {
        assert_eq!(
            WgpuAdapter::parse_suffix(""),
            Some(WgpuAdapter::Hardware(0))
        );
        assert_eq!(
            WgpuAdapter::parse_suffix(":2"),
            Some(WgpuAdapter::Hardware(2))
        );
        assert_eq!(
            WgpuAdapter::parse_suffix(":cpu"),
            Some(WgpuAdapter::Software)
        );
        assert_eq!(WgpuAdapter::parse_suffix(":x"), None);
        assert_eq!(WgpuAdapter::parse_suffix("0"), None);
    }

    #[test]
    fn hardware_indices_skip_software_and_map_to_cubecl_per_type_indices() {
        use AdapterKind::*;
        let list = [
            adapter("igpu", Integrated),
            adapter("llvmpipe", Software),
            adapter("dgpu0", Discrete),
            adapter("dgpu1", Discrete),
        ];
        let pick = |c| select(&list, c, "Vulkan").unwrap();
        assert_eq!(
            pick(WgpuAdapter::Hardware(0)).0,
            CubeclAdapter::Integrated(0)
        );
        assert_eq!(pick(WgpuAdapter::Hardware(1)).0, CubeclAdapter::Discrete(0));
        let (dev, info) = pick(WgpuAdapter::Hardware(2));
        assert_eq!(
            (dev, info.name.as_str()),
            (CubeclAdapter::Discrete(1), "dgpu1")
        );
        assert_eq!(pick(WgpuAdapter::Software).0, CubeclAdapter::Cpu);
        let err = select(&list, WgpuAdapter::Hardware(3), "Vulkan").unwrap_err();
        assert!(err.contains("wgpu:0 to wgpu:2"), "{err}");
    }

    #[test]
    fn only_a_software_adapter_is_an_error_for_a_hardware_choice() {
        let list = [adapter("llvmpipe (LLVM 19)", AdapterKind::Software)];
        let err = select(&list, WgpuAdapter::Hardware(0), "Vulkan").unwrap_err();
        assert!(err.contains("llvmpipe (LLVM 19)"), "{err}");
        assert!(err.contains("--device wgpu:cpu"), "{err}");
        assert!(select(&list, WgpuAdapter::Software, "Vulkan").is_ok());
    }

    #[test]
    fn no_adapter_says_to_install_a_driver() {
        for choice in [WgpuAdapter::Hardware(0), WgpuAdapter::Software] {
            let err = select(&[], choice, "Vulkan").unwrap_err();
            assert!(err.contains("no Vulkan adapter found"), "{err}");
        }
        let list = [adapter("gpu", AdapterKind::Discrete)];
        let err = select(&list, WgpuAdapter::Software, "Vulkan").unwrap_err();
        assert!(err.contains("mesa-vulkan-drivers"), "{err}");
    }

    #[test]
    fn other_type_adapters_use_cubecls_fallback_or_fail() {
        use AdapterKind::*;
        // One "other" adapter and no discrete GPU: cubecl's DiscreteGpu(0) falls back to it.
        let list = [adapter("odd", Other), adapter("igpu", Integrated)];
        assert_eq!(
            select(&list, WgpuAdapter::Hardware(0), "Vulkan").unwrap().0,
            CubeclAdapter::Discrete(0)
        );
        // Every type has an adapter at index 0: cubecl cannot reach the "other" one.
        let list = [
            adapter("d", Discrete),
            adapter("i", Integrated),
            adapter("v", Virtual),
            adapter("odd", Other),
        ];
        assert!(select(&list, WgpuAdapter::Hardware(3), "Vulkan").is_err());
    }
}
