//! `deltarnn`: the command-line tool. One module per subcommand under `cmd/` (leaves); the
//! pieces several of them share at the crate root: flags (`args`), dataset loading (`dataset`),
//! the training pipeline (`training`), run reports (`report`), one input sequence through a
//! model (`sequence`), plots and progress bars.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod args;
mod cmd;
mod dataset;
mod plot;
mod progress;
mod report;
mod sequence;
mod training;

/// Delta LSTM / Delta GRU with exact temporally sparse backpropagation through time.
#[derive(Parser)]
#[command(name = "deltarnn", version, about, long_about = None)]
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
    /// Create a freshly initialised model checkpoint.
    Init(cmd::init::Args),
    /// Run a model over one input sequence and write its logits and hidden states.
    Forward(cmd::forward::Args),
    /// Compute the loss and the gradient of every parameter for one labelled sequence.
    Grad(cmd::grad::Args),
    /// The main job: synthesize a corpus, train a Delta LSTM and a dense LSTM, compare them.
    Demo(cmd::demo::Args),
    /// Evaluate a trained model on a dataset split.
    Eval(cmd::eval::Args),
    /// Classify WAV files with a trained model (optionally streaming, frame by frame).
    Infer(cmd::infer::Args),
    /// Train one model per threshold and tabulate accuracy against saved work.
    Sweep(cmd::sweep::Args),
    /// Train a model on a dataset and write a run directory.
    Train(cmd::train::Args),
    /// Time sparse against dense training steps in one process and print the ratios.
    Bench(cmd::bench::Args),
    /// Learn classes incrementally (iCaRL: exemplars, distillation, nearest mean), Delta against dense.
    Learn(cmd::learn::Args),
    /// Simulate a layer's training step on the cycle-level accelerator model, dense against sparse.
    Simulate(cmd::simulate::Args),
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => err.exit(), // --help and --version, on stdout
        Err(err) => {
            eprintln!("{}", one_line(&err));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Synth(args) => cmd::synth::run(args),
        Command::Features(args) => cmd::features::run(args),
        Command::Data(args) => cmd::data::run(args),
        Command::Init(args) => cmd::init::run(args),
        Command::Forward(args) => cmd::forward::run(args),
        Command::Grad(args) => cmd::grad::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Infer(args) => cmd::infer::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Learn(args) => cmd::learn::run(args),
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

/// A command-line usage error as one line, `error: ...`: clap's message with its details (the
/// missing arguments, a tip) joined, without the usage block and the pointer to `--help`.
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") {
            break;
        }
        if !line.is_empty() && !line.starts_with("For more information") {
            parts.push(line);
        }
    }
    parts.join(" ")
}

/// `deltarnn ... | head` closes standard output early, and the next `println!` panics with
/// "failed printing to stdout: Broken pipe". End quietly instead, with the status of a process
/// stopped by SIGPIPE (128 + 13), as other Unix tools do; every other panic is reported as usual.
fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
