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

/// clap's parser for `train --device`, which also takes a comma-separated list of devices for
/// data-parallel training; a single device (or `auto`) goes through [`parse`].
pub fn parse_list(text: &str) -> Result<toongan::backend::DeviceList, String> {
    if text.contains(',') {
        return text
            .parse()
            .map_err(|e: toongan::backend::DeviceListError| e.to_string());
    }
    let device = parse(text)?;
    Ok(toongan::backend::DeviceList::from(device))
}
