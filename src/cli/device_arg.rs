//! `--device`: a device name, or `auto`, which probes the machine and says what it picked.

use toongan::backend::{DeviceChoice, parse_device};

/// clap's parser for every `--device` option. For `auto`, prints the device picked and why.
pub fn parse(text: &str) -> Result<DeviceChoice, String> {
    let (device, note) = parse_device(text).map_err(|e| e.to_string())?;
    if let Some(reason) = note {
        eprintln!("--device auto: using {reason}");
    }
    Ok(device)
}
