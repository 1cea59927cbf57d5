//! `toongan weights`: what pretrained files are on this machine, and prefetching them.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use toongan::weights::{NetStatus, PretrainedRegistry, Style, StyleRegistry, StyleStatus};

/// Arguments of `toongan weights`.
#[derive(Debug, Args)]
pub struct WeightsArgs {
    #[command(subcommand)]
    command: WeightsCommand,
}

#[derive(Debug, Subcommand)]
enum WeightsCommand {
    /// List every style and pretrained network: where it is and whether it verifies.
    List,
    /// Download (and verify) styles or networks now rather than on first use.
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
struct FetchArgs {
    /// Styles (hayao, hosoda, paprika, shinkai) or networks (vgg19, vgg19_bn, resnet18,
    /// resnet34, resnet50, resnet101, fid_inception).
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
    /// Everything in `toongan weights list`.
    #[arg(long, conflicts_with = "names")]
    all: bool,
}

pub fn run(args: WeightsArgs, styles: StyleRegistry) -> anyhow::Result<ExitCode> {
    let nets = PretrainedRegistry::default();
    match args.command {
        WeightsCommand::List => {
            list(&styles, &nets);
            Ok(ExitCode::SUCCESS)
        }
        WeightsCommand::Fetch(f) => {
            let names: Vec<String> = if f.all {
                Style::ALL
                    .iter()
                    .map(|s| s.name().to_string())
                    .chain(nets.nets.iter().map(|n| n.name.clone()))
                    .collect()
            } else {
                f.names
            };
            let mut failed = 0;
            for name in &names {
                let result = match name.parse::<Style>() {
                    Ok(style) => styles.locate(style).map(|p| p.display().to_string()),
                    Err(_) if nets.get(name).is_some() => {
                        nets.locate_name(name).map(|p| p.display().to_string())
                    }
                    Err(_) => bail!(
                        "unknown name '{name}': styles are hayao, hosoda, paprika, shinkai; \
                         networks are {}",
                        nets.nets
                            .iter()
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                match result {
                    Ok(path) => println!("{name}: verified at {path}"),
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        failed += 1;
                    }
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn list(styles: &StyleRegistry, nets: &PretrainedRegistry) {
    println!(
        "styles (CartoonGAN, 94 .npy files each; from {}):",
        styles.base_url
    );
    for style in Style::ALL {
        let mut line = format!("  {:<14} absent", style.name());
        for dir in styles.candidates(style) {
            let state = match toongan::weights::style_status(style, &dir) {
                StyleStatus::Absent => continue,
                StyleStatus::Partial { present, total } => {
                    format!("partial ({present}/{total} files; fetch resumes)")
                }
                StyleStatus::Complete { bad } if bad.is_empty() => "verified".to_string(),
                StyleStatus::Complete { bad } => {
                    format!("CORRUPT ({} files with a wrong SHA-256)", bad.len())
                }
            };
            line = format!("  {:<14} {state:<10} {}", style.name(), dir.display());
            break;
        }
        println!("{line}");
    }
    println!("pretrained networks (searched in {}):", nets.searched());
    for net in &nets.nets {
        let state = match nets.status(net) {
            NetStatus::Absent => "absent".to_string(),
            NetStatus::Verified(p) => format!("verified   {}", p.display()),
            NetStatus::Corrupt(p, h) => format!("CORRUPT    {} (SHA-256 {h})", p.display()),
        };
        let check = if net.sha256.is_some() {
            ""
        } else {
            " [checked by file-name prefix]"
        };
        println!("  {:<14} {state}{check}", net.name);
        println!("  {:<14} {} — {}", "", net.file, net.purpose);
    }
}
