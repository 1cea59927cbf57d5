//! Command-line interface: one file per subcommand, each turning its arguments into
//! library calls.

mod bench;
mod cartoonize;
mod cartoonize_media;
mod device_arg;
mod devices;
mod eval_common;
mod experiment;
mod fid;
mod interrupt;
mod kid;
mod smooth;
#[cfg(feature = "studio")]
mod studio;
#[cfg(feature = "survey")]
mod survey;
mod train;
mod weights;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Photo-to-cartoon GANs: cartoonize photos with the published CartoonGAN styles or your own
/// models.
#[derive(Debug, Parser)]
#[command(name = "toongan", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Never touch the network: use only weights already on disk (also $TOONGAN_OFFLINE=1).
    #[arg(long, global = true)]
    offline: bool,
    /// Mirror of the published CartoonGAN weights, under which <style>/<file>.npy are found.
    #[arg(long, global = true, env = "TOONGAN_WEIGHTS_URL", value_name = "URL")]
    weights_url: Option<String>,
}

impl Cli {
    /// The style registry these global options give.
    fn style_registry(&self) -> toongan::weights::StyleRegistry {
        let mut registry = toongan::weights::StyleRegistry::default();
        if let Some(url) = &self.weights_url {
            registry.base_url = url.clone();
        }
        registry
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Turn photos into cartoons.
    Cartoonize(cartoonize::CartoonizeArgs),
    /// Train a GAN on unpaired photo and cartoon folders, or resume a run.
    Train(train::TrainArgs),
    /// Run a human preference survey: create it from image folders, serve it, read results.
    #[cfg(feature = "survey")]
    Survey(survey::SurveyArgs),
    /// Time the generator on the fast CPU engine and on burn.
    Bench(bench::BenchArgs),
    /// Fréchet Inception Distance between two image folders or statistics files (as pytorch-fid).
    Fid(fid::FidArgs),
    /// Kernel Inception Distance between two image folders (as torch-fidelity).
    Kid(kid::KidArgs),
    /// Edge-smooth cartoon images (CartoonGAN's blurred-edge negatives).
    Smooth(smooth::SmoothArgs),
    /// A local web app: cartoonize photos in the browser, watch training runs and experiments.
    #[cfg(feature = "studio")]
    Studio(studio::StudioArgs),
    /// Run an experiment plan: train every variant and seed, cartoonize, score, report.
    Experiment(experiment::ExperimentArgs),
    /// List, verify and prefetch the published styles and pretrained networks.
    Weights(weights::WeightsArgs),
    /// Print a shell completion script: `toongan completions bash > <completions dir>/toongan`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// List the devices --device can name (CPU, CUDA, wgpu adapters) and what auto picks.
    Devices(devices::DevicesArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if cli.offline {
        toongan::weights::set_offline(true);
    }
    let styles = cli.style_registry();
    match cli.command {
        Command::Cartoonize(args) => cartoonize::run(args, styles),
        Command::Weights(args) => weights::run(args, styles),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "toongan", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Train(args) => train::run(args),
        #[cfg(feature = "survey")]
        Command::Survey(args) => survey::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Fid(args) => fid::run(args),
        Command::Kid(args) => kid::run(args),
        Command::Smooth(args) => smooth::run(args),
        Command::Experiment(args) => experiment::run(args),
        #[cfg(feature = "studio")]
        Command::Studio(args) => studio::run(args),
        Command::Devices(args) => devices::run(args),
    }
}
