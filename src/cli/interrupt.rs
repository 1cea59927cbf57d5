//! Ctrl-C for the long-running commands (`train`, `experiment`): the first press asks the
//! run to stop after its current step and checkpoint; a second exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// Installs the process's Ctrl-C handler: it sets `stop`, which the trainer checks between
/// steps; pressed again while `stop` is already set, it exits with status 130.
pub fn stop_on_ctrl_c(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond Ctrl-C: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!("\nCtrl-C: finishing this step and saving a checkpoint (Ctrl-C again to abort)");
    })
    .context("cannot install the Ctrl-C handler")
}
