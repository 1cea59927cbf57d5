//! Command-line interface: one file per subcommand, each turning its arguments into
//! library calls.

mod bench;
mod cartoonize;
mod survey;
mod smooth;

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
    /// Run a human preference survey: create it from image folders, serve it, read results.
    Survey(survey::SurveyArgs),
    /// Time the generator on the fast CPU engine and on burn.
    Bench(bench::BenchArgs),
    /// Edge-smooth cartoon images (CartoonGAN's blurred-edge negatives).
    Smooth(smooth::SmoothArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Cartoonize(args) => cartoonize::run(args),
        Command::Survey(args) => survey::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Smooth(args) => smooth::run(args),
    }
}
