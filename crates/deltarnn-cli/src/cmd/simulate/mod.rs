//! `deltarnn simulate`: the cycle-level accelerator model on a recorded or generated activity
//! trace, dense against sparse, with the datapath's values checked in BF16 or FXP16.
//!
//! `machine.rs` holds the accelerator's flags, `workload.rs` what runs on it, `table.rs` the
//! printed table and `sweep.rs` the `--sweep` over PE counts and DRAM bandwidths.

mod machine;
mod rtl;
mod sweep;
mod table;
mod workload;

use anyhow::{bail, Result};
use deltarnn::delta::ActivityTrace;
use deltarnn::sim::{check_values, CycleModel, SimConfig, ValueCheck};
use machine::MachineArgs;
use rtl::RtlArgs;
use sweep::SweepArgs;
use workload::{Workload, WorkloadArgs};

/// Simulate one training step (forward MxV, backward MTxV, weight-gradient VxV) on the
/// accelerator model, dense against sparse: on a trace file from `deltarnn train
/// --record-trace`, or on generated traces at several temporal sparsities.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    workload: WorkloadArgs,
    #[command(flatten)]
    machine: MachineArgs,
    /// Ideal model: steps of each trace whose values go through the datapath and are checked
    /// against the bit-accurate model and the f64 engine (0 = no value check). The RTL model's
    /// values are checked against the RTL itself (--emit-rtl-inputs).
    #[arg(long, default_value_t = 16)]
    value_steps: usize,
    /// Print one JSON object per workload instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    rtl: RtlArgs,
}

/// Runs `deltarnn simulate`.
pub fn run(args: Args) -> Result<()> {
    if let Some(dir) = &args.rtl.compare_rtl {
        return rtl::compare(dir, args.json);
    }
    let machine = &args.machine;
    let workloads = args.workload.workloads()?;
    if args.sweep.sweep {
        // The sweep explores PE counts and DRAM bandwidths: the idealised model's parameters.
        for w in &workloads {
            w.check(&machine.config_for(CycleModel::Ideal, machine.pes, machine.dram_gbps)?)?;
        }
        return sweep::run(machine, &args.sweep, &workloads);
    }
    let config = machine.config(machine.pes, machine.dram_gbps)?;
    for w in &workloads {
        w.check(&config)?;
    }
    if let Some(dir) = &args.rtl.emit_rtl_inputs {
        return rtl::emit(dir, machine.format, &workloads, args.workload.seed, args.rtl.dw_readout);
    }
    for w in &workloads {
        let comparison = w.simulate(&config)?;
        let values = value_check(&args, &config, w)?;
        if args.json {
            let mut v = comparison.to_json();
            v["workload"] = w.label.clone().into();
            v["sparsity"] = w.sparsity().into();
            v["layer_traces"] = w.traces.len().into();
            v["pes"] = config.pes.into();
            v["model"] = serde_json::to_value(config.model)?;
            v["cell"] = w.cell.to_string().into();
            v["dram_gbps"] = machine.dram_gbps.into();
            v["dram_bytes_per_cycle"] = config.dram_bytes_per_cycle.into();
            v["clock_mhz"] = machine.clock_mhz.into();
            v["values"] = serde_json::to_value(values)?;
            println!("{v}");
        } else {
            table::print(machine, &config, w, &comparison, values.as_ref(), args.value_steps);
        }
    }
    Ok(())
}

/// The value check on the first `--value-steps` steps of the workload's first trace.
fn value_check(args: &Args, config: &SimConfig, w: &Workload) -> Result<Option<ValueCheck>> {
    let ideal = config.model == CycleModel::Ideal;
    let Some(trace) = w.traces.first().filter(|_| ideal && args.value_steps > 0) else { return Ok(None) };
    let steps = args.value_steps.min(trace.steps());
    let mut prefix = ActivityTrace::with_capacity(trace.n_input, trace.n_hidden, steps);
    for t in 0..steps {
        for (from, to) in [(&trace.input, &mut prefix.input), (&trace.hidden, &mut prefix.hidden)] {
            let (idx, val) = from.step(t);
            to.indices.extend_from_slice(idx);
            to.values.extend_from_slice(val);
            to.offsets.push(to.indices.len() as u32);
        }
    }
    let check = check_values(config, args.machine.format, w.cell, &prefix, 1e-3, args.workload.seed)?;
    if !check.bit_identical {
        bail!("the simulator's {} datapath and the bit-accurate model disagree on {}", args.machine.format, w.label);
    }
    Ok(Some(check))
}
