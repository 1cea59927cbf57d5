//! Command-line interface: one file per subcommand, each turning its arguments into
//! library calls.

mod cartoonize;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Photo-to-cartoon GANs: cartoonize photos with the published CartoonGAN styles or your own
/// models.
#[derive(Debug, Parser)]
#[command(name = "toongan", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Turn photos into cartoons.
    Cartoonize(cartoonize::CartoonizeArgs),
    /// Train a GAN on unpaired photo and cartoon folders, or resume a run.
    Train(train::TrainArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Cartoonize(args) => cartoonize::run(args),
        Command::Train(args) => train::run(args),
    }
}
