//! The table `simulate` prints per workload: the machine and the workload, cycles per
//! instruction class dense against sparse, stalls, and the value check.

use super::machine::MachineArgs;
use super::workload::Workload;
use deltarnn::sim::{Comparison, CycleModel, OpClass, SimConfig, SimReport, ValueCheck};

/// Prints the table of workload `w` simulated on `config` (from `machine`): `c` its comparison,
/// `values` its value check over the first `value_steps` steps.
pub fn print(
    machine: &MachineArgs,
    config: &SimConfig,
    w: &Workload,
    c: &Comparison,
    values: Option<&ValueCheck>,
    value_steps: usize,
) {
    println!("{}", title(machine, config, w));
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
    let ((dd, db), (sd, sb)) = (stalls(&c.dense), stalls(&c.sparse));
    println!("SRAM traffic: {} B dense / {} B sparse", c.dense.total_sram_bytes(), c.sparse.total_sram_bytes());
    match config.model {
        // The RTL model's only stalls are VXV_SP's read-after-write bubbles.
        CycleModel::Rtl => println!(
            "stalls: VXV_SP read-after-write bubbles {dd} dense / {sd} sparse; fixed cycles {} dense / {} sparse",
            fixed(&c.dense),
            fixed(&c.sparse)
        ),
        CycleModel::Ideal => println!(
            "stalls: DRAM {dd} dense / {sd} sparse, SRAM banks {db} dense / {sb} sparse; largest sparse overhead: {}",
            c.sparse.main_overhead()
        ),
    }
    if let Some(v) = values {
        println!("{}", values_line(v, value_steps));
    } else if config.model == CycleModel::Rtl {
        println!(
            "values: the RTL's arithmetic ({}); check them against the RTL itself with --emit-rtl-inputs DIR, \
             scripts/rtl-check.sh DIR, --compare-rtl DIR",
            match machine.format {
                deltarnn::sim::Format::Bf16 => "BF16, every product and sum rounded",
                deltarnn::sim::Format::Fxp16 => "FXP16, 16-bit wrapping products and sums",
            }
        );
    }
    println!();
}

/// The first line: the workload's shapes and sparsity, and the machine.
fn title(machine: &MachineArgs, config: &SimConfig, w: &Workload) -> String {
    let mut shapes: Vec<String> = Vec::new();
    for t in &w.traces {
        let shape = match w.matrix_rows {
            Some(rows) => format!("{rows}x{}", t.n_input),
            None => format!("{}x{}", t.n_input, t.n_hidden),
        };
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    let head = format!(
        "{}: {} {} ({} layer traces, {} steps), sparsity {:.1}%",
        w.label,
        if w.matrix_rows.is_some() { "matrix".to_string() } else { w.cell.to_string() },
        shapes.join(", "),
        w.traces.len(),
        w.traces.iter().map(|t| t.steps()).sum::<usize>(),
        100.0 * w.sparsity(),
    );
    match config.model {
        CycleModel::Rtl => format!(
            "{head}, RTL model: 16 PEs, a 32 B/cycle DRAM stream, instructions of at most 256 rows, \
             columns and steps{}",
            if config.tiling { " (tiled)" } else { "" }
        ),
        CycleModel::Ideal => format!(
            "{head}, ideal model: {} PEs, {} GB/s at {} MHz ({:.1} B/cycle), {} banks x {} ports",
            config.pes,
            machine.dram_gbps,
            machine.clock_mhz,
            config.dram_bytes_per_cycle,
            config.sram_banks,
            config.sram_ports
        ),
    }
}

/// Fixed (per-instruction) cycles over every instruction class.
fn fixed(r: &SimReport) -> u64 {
    r.classes.iter().map(|c| c.overhead_cycles).sum()
}

/// DRAM (RTL model: VXV_SP bubble) and SRAM-bank stall cycles over every instruction class.
fn stalls(r: &SimReport) -> (u64, u64) {
    let dram: u64 = r.classes.iter().map(|c| c.stall_cycles).sum();
    let banks: u64 = r.classes.iter().map(|c| c.bank_stall_cycles).sum();
    (dram, banks)
}

/// The value check's line: the largest errors against the f64 engine.
fn values_line(v: &ValueCheck, value_steps: usize) -> String {
    let a = &v.accuracy;
    format!(
        "values ({}, first {} steps): datapath == bit-accurate model; max |error| vs f64 engine: \
         M {:.2e}, e {:.2e}, dW {:.2e}; worst error/bound {:.3}{}",
        v.format,
        value_steps,
        a.memory_max_error,
        a.e_max_error,
        a.dw_max_error,
        a.worst_bound_ratio,
        if a.saturated > 0 { format!("; {} words saturated", a.saturated) } else { String::new() }
    )
}
