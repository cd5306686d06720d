//! `deltarnn data ...`: dataset inspection.
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use deltarnn::data::dataset_stats;

use crate::progress::Bars;

/// Inspect datasets.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Files, speakers, classes and durations per split.
    Stats(StatsArgs),
}

/// Arguments of `data stats`.
#[derive(clap::Args)]
struct StatsArgs {
    /// Dataset folder (layout detected automatically).
    dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Stats(args) => stats(args),
    }
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let mut bars = Bars::default();
    let stats = dataset_stats(&args.dir, None, |p| bars.update(p))
        .with_context(|| format!("reading dataset {}", args.dir.display()))?;
    bars.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    println!("{}: {} dataset, {} classes", args.dir.display(), stats.kind.name(), stats.classes.len());
    println!(
        "{:>6} {:>7} {:>8} {:>7} {:>9} {:>7} {:>7} {:>7}",
        "split", "files", "speakers", "classes", "total_min", "min_s", "med_s", "max_s"
    );
    for s in &stats.splits {
        println!(
            "{:>6} {:>7} {:>8} {:>7} {:>9.1} {:>7.2} {:>7.2} {:>7.2}",
            s.split.name(),
            s.n_files,
            s.n_speakers,
            s.n_classes,
            s.total_seconds / 60.0,
            s.min_seconds,
            s.median_seconds,
            s.max_seconds
        );
        for (path, reason) in &s.unreadable {
            println!("       unreadable: {path}: {reason}");
        }
    }
    if stats.shared_speakers.is_empty() {
        println!("splits are speaker-disjoint");
    } else {
        println!(
            "{} speakers appear in more than one split: {}",
            stats.shared_speakers.len(),
            stats.shared_speakers.join(" ")
        );
    }
    Ok(())
}
