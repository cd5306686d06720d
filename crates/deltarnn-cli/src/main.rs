//! `deltarnn`: train and run Delta RNNs from the command line.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// Delta LSTM / Delta GRU with exact temporally sparse backpropagation through time.
#[derive(Parser)]
#[command(name = "deltarnn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a freshly initialised model checkpoint.
    Init(cmd::init::Args),
    /// Run a model over one input sequence and write its logits and hidden states.
    Forward(cmd::forward::Args),
    /// Compute the loss and the gradient of every parameter for one labelled sequence.
    Grad(cmd::grad::Args),
    /// Time sparse against dense training steps in one process and print the ratios.
    Bench(cmd::bench::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Init(args) => cmd::init::run(args),
        Command::Forward(args) => cmd::forward::run(args),
        Command::Grad(args) => cmd::grad::run(args),
        Command::Bench(args) => cmd::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the outer context, then each cause.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
