//! `deltarnn simulate`: the cycle-level accelerator model on a generated activity trace.

use anyhow::{bail, Result};
use deltarnn::nn::CellKind;
use deltarnn::rng::Rng;
use deltarnn::sim::{generate_trace, simulate_layer, Comparison, OpClass, SimConfig};

/// Simulate one layer's training step (forward MxV, backward MTxV, weight-gradient VxV) on the
/// accelerator model, dense against sparse, at several temporal sparsities.
#[derive(clap::Args)]
pub struct Args {
    /// Temporal sparsities to simulate (fraction of the columns that do not fire each step).
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.8,0.9")]
    sparsity: Vec<f64>,
    /// Layer width: input size and hidden size.
    #[arg(long, default_value_t = 256)]
    width: usize,
    /// Time steps.
    #[arg(long, default_value_t = 256)]
    steps: usize,
    /// Recurrent cell (rows = 4 x width for LSTM, 3 x width for GRU).
    #[arg(long, default_value = "lstm")]
    cell: CellKind,
    /// Processing elements.
    #[arg(long, default_value_t = 16)]
    pes: usize,
    /// DRAM bandwidth in bytes per cycle.
    #[arg(long, default_value_t = 128.0)]
    dram_bytes_per_cycle: f64,
    /// DRAM latency in cycles (paid by each step descriptor fetch).
    #[arg(long, default_value_t = 100)]
    dram_latency: u64,
    /// Seed of the generated trace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object per sparsity instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `deltarnn simulate`.
pub fn run(args: Args) -> Result<()> {
    if let Some(s) = args.sparsity.iter().find(|s| !(**s >= 0.0 && **s < 1.0)) {
        bail!("--sparsity values must be in [0, 1), got {s}");
    }
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let config = SimConfig {
        pes: args.pes,
        dram_bytes_per_cycle: args.dram_bytes_per_cycle,
        dram_latency_cycles: args.dram_latency,
        ..SimConfig::default()
    };
    config.check_layer(args.width, args.width)?;
    for &sparsity in &args.sparsity {
        let trace = generate_trace(args.width, args.width, args.steps, sparsity, &mut Rng::seed(args.seed));
        let comparison = simulate_layer(&config, args.cell, &trace)?;
        if args.json {
            let mut value = comparison.to_json();
            value["sparsity"] = sparsity.into();
            value["width"] = args.width.into();
            value["steps"] = args.steps.into();
            value["pes"] = args.pes.into();
            value["cell"] = args.cell.to_string().into();
            value["dram_bytes_per_cycle"] = args.dram_bytes_per_cycle.into();
            println!("{value}");
        } else {
            print_table(&args, sparsity, &comparison);
        }
    }
    Ok(())
}

fn print_table(args: &Args, sparsity: f64, c: &Comparison) {
    println!(
        "{} {}x{}, {} steps, {} PEs, {} B/cycle DRAM, sparsity {:.0}%",
        args.cell,
        args.width,
        args.width,
        args.steps,
        args.pes,
        args.dram_bytes_per_cycle,
        sparsity * 100.0
    );
    println!(
        "{:<6} {:>13} {:>13} {:>8} {:>7} {:>7} {:>7} {:>14} {:>14}",
        "class", "dense cyc", "sparse cyc", "speedup", "ideal", "util d", "util s", "dense DRAM B", "sparse DRAM B"
    );
    for class in OpClass::ALL {
        let (d, s) = (c.dense.class(class), c.sparse.class(class));
        println!(
            "{:<6} {:>13} {:>13} {:>7.2}x {:>6.2}x {:>6.1}% {:>6.1}% {:>14} {:>14}",
            class.name(),
            d.cycles(),
            s.cycles(),
            c.class_speedup(class),
            d.macs as f64 / s.macs.max(1) as f64,
            100.0 * c.dense.class_utilisation(class),
            100.0 * c.sparse.class_utilisation(class),
            d.dram_bytes,
            s.dram_bytes
        );
    }
    println!(
        "{:<6} {:>13} {:>13} {:>7.2}x {:>6.2}x {:>6.1}% {:>6.1}% {:>14} {:>14}",
        "total",
        c.dense.total_cycles(),
        c.sparse.total_cycles(),
        c.speedup(),
        c.ideal_speedup(),
        100.0 * c.dense.utilisation(),
        100.0 * c.sparse.utilisation(),
        c.dense.total_dram_bytes(),
        c.sparse.total_dram_bytes()
    );
    println!();
}
