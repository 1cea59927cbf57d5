//! Interruption of the long-running commands (`train`, `experiment`): the first Ctrl-C
//! (SIGINT), SIGTERM (what Slurm, systemd, Kubernetes and `docker stop` send) or SIGHUP asks
//! the run to stop after its current step and checkpoint; a second one exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// Installs the process's SIGINT/SIGTERM/SIGHUP handler: it sets `stop`, which the trainer
/// checks between steps; received again while `stop` is already set, it exits with status 130.
pub fn stop_on_interrupt(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted (Ctrl-C or SIGTERM): finishing this step and saving a checkpoint (interrupt again to abort)"
        );
    })
    .context("cannot install the interrupt (SIGINT/SIGTERM) handler")
}
