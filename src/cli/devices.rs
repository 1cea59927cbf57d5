//! `toongan devices`: the devices this build of toongan can run on, as `--device` names them.

use std::process::ExitCode;

use clap::Args;
use toongan::backend::Inventory;

/// Arguments of `toongan devices` (none).
#[derive(Debug, Args)]
pub struct DevicesArgs {}

/// Lists the CPU, the CUDA devices and the wgpu adapters, and what `--device auto` picks.
pub fn run(_args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let inv = Inventory::probe();
    println!("cpu          CPU ({} threads)", inv.cpu_threads);
    match &inv.cuda {
        Ok((names, driver)) => {
            for (i, name) in names.iter().enumerate() {
                println!("cuda:{i:<7} CUDA  {name}  [{driver}]  hardware");
            }
            if names.is_empty() {
                println!("(cuda)       none: the CUDA driver sees no device");
            }
        }
        Err(why) => println!("(cuda)       none: {why}"),
    }
    match &inv.wgpu {
        Ok((api, adapters)) => {
            let (mut n, mut software_named) = (0, false);
            for a in adapters {
                // Hardware adapters are wgpu:0, wgpu:1, …; wgpu:cpu is the first software one.
                let name = if !a.is_software() {
                    n += 1;
                    format!("wgpu:{}", n - 1)
                } else if !software_named {
                    software_named = true;
                    "wgpu:cpu".to_string()
                } else {
                    "(software)".to_string()
                };
                let hw = if a.is_software() {
                    "software"
                } else {
                    "hardware"
                };
                println!(
                    "{name:<12} {}  {}  [{}]  {hw}, {}",
                    a.backend,
                    a.name,
                    a.driver,
                    a.kind.label()
                );
            }
            if adapters.is_empty() {
                println!("(wgpu)       none: no {api} adapter (install your GPU's {api} driver)");
            }
        }
        Err(why) => println!("(wgpu)       none: {why}"),
    }
    let pick = inv.auto();
    println!("--device auto uses {}", pick.reason);
    Ok(ExitCode::SUCCESS)
}
