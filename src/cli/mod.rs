//! Command-line interface: one file per subcommand, each turning its arguments into
//! library calls.

mod bench;
mod cartoonize;
mod device_arg;
mod devices;
mod eval_common;
mod experiment;
mod fid;
mod interrupt;
mod kid;
mod smooth;
mod survey;
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
    /// Run a human preference survey: create it from image folders, serve it, read results.
    Survey(survey::SurveyArgs),
    /// Time the generator on the fast CPU engine and on burn.
    Bench(bench::BenchArgs),
    /// Fréchet Inception Distance between two image folders or statistics files (as pytorch-fid).
    Fid(fid::FidArgs),
    /// Kernel Inception Distance between two image folders (as torch-fidelity).
    Kid(kid::KidArgs),
    /// Edge-smooth cartoon images (CartoonGAN's blurred-edge negatives).
    Smooth(smooth::SmoothArgs),
    /// Run an experiment plan: train every variant and seed, cartoonize, score, report.
    Experiment(experiment::ExperimentArgs),
    /// List the devices --device can name (CPU, CUDA, wgpu adapters) and what auto picks.
    Devices(devices::DevicesArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Cartoonize(args) => cartoonize::run(args),
        Command::Train(args) => train::run(args),
        Command::Survey(args) => survey::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Fid(args) => fid::run(args),
        Command::Kid(args) => kid::run(args),
        Command::Smooth(args) => smooth::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Devices(args) => devices::run(args),
    }
}
