//! `deltarnn`: the command-line tool. One file per subcommand under `cmd/`.
#![forbid(unsafe_code)]
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod progress;

/// Train and run Delta RNNs on speech.
#[derive(Parser)]
#[command(name = "deltarnn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a spoken-commands corpus (Fluent Speech Commands layout) with espeak-ng.
    Synth(cmd::synth::Args),
    /// Build or refresh the feature cache of a dataset.
    Features(cmd::features::Args),
    /// Inspect datasets.
    Data(cmd::data::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Synth(args) => cmd::synth::run(args),
        Command::Features(args) => cmd::features::run(args),
        Command::Data(args) => cmd::data::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
