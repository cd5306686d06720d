//! `deltarnn simulate`: the cycle-level accelerator model on a recorded or generated activity
//! trace, dense against sparse, with the datapath's values checked in BF16 or FXP16.

use super::simulate_sweep;
use anyhow::{bail, Context, Result};
use deltarnn::delta::ActivityTrace;
use deltarnn::nn::CellKind;
use deltarnn::rng::Rng;
use deltarnn::sim::{check_values, generate_trace, simulate_layer, Comparison, Format, OpClass, SimConfig, ValueCheck};
use deltarnn::tracefile;
use std::path::PathBuf;

/// Simulate one training step (forward MxV, backward MTxV, weight-gradient VxV) on the
/// accelerator model, dense against sparse: on a trace file from `deltarnn train
/// --record-trace`, or on generated traces at several temporal sparsities.
#[derive(clap::Args)]
pub struct Args {
    /// Activity-trace file (docs/trace-format.md) to replay instead of generated traces.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sparsity", "width", "steps", "cell"])]
    pub trace: Option<PathBuf>,
    /// Temporal sparsities of the generated traces (fraction of the columns that do not fire).
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.8,0.9")]
    pub sparsity: Vec<f64>,
    /// Generated layer width: input size and hidden size.
    #[arg(long, default_value_t = 256)]
    pub width: usize,
    /// Generated time steps.
    #[arg(long, default_value_t = 256)]
    pub steps: usize,
    /// Recurrent cell of generated traces (rows = 4 x width for LSTM, 3 x width for GRU).
    #[arg(long, default_value = "lstm")]
    pub cell: CellKind,
    /// Processing elements.
    #[arg(long, default_value_t = 16)]
    pub pes: usize,
    /// Datapath number format: bf16 or fxp16.
    #[arg(long, default_value = "bf16")]
    pub format: Format,
    /// DRAM bandwidth, GB/s (10^9 bytes per second).
    #[arg(long, default_value_t = 25.6)]
    pub dram_gbps: f64,
    /// Accelerator clock, MHz (DRAM bytes per cycle = GB/s x 1000 / MHz).
    #[arg(long, default_value_t = 200.0)]
    pub clock_mhz: f64,
    /// DRAM latency in cycles (paid by each step descriptor fetch).
    #[arg(long, default_value_t = 100)]
    pub dram_latency: u64,
    /// On-chip SRAM banks (word-interleaved).
    #[arg(long, default_value_t = 32)]
    pub sram_banks: usize,
    /// Ports per SRAM bank.
    #[arg(long, default_value_t = 2)]
    pub sram_ports: usize,
    /// Widest layer input or hidden size the accelerator accepts.
    #[arg(long, default_value_t = 256)]
    pub max_width: usize,
    /// Steps of each trace whose values go through the datapath and are checked against the
    /// bit-accurate model and the f64 engine (0 = no value check).
    #[arg(long, default_value_t = 16)]
    pub value_steps: usize,
    /// Seed of generated traces and of the weights and gradients of the value check.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object per workload instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Sweep PE counts and DRAM bandwidths; write sweep.csv, sweep.md and PNG plots to --out.
    #[arg(long)]
    pub sweep: bool,
    /// PE counts of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,32,64")]
    pub sweep_pes: Vec<usize>,
    /// DRAM bandwidths of the sweep, GB/s.
    #[arg(long, value_delimiter = ',', default_value = "0.4,1.6,6.4,25.6")]
    pub sweep_dram_gbps: Vec<f64>,
    /// Output folder of --sweep.
    #[arg(long, default_value = "sim-sweep")]
    pub out: PathBuf,
}

/// A set of layer traces simulated together (one generated layer, or every layer of every
/// sequence of a trace file), run back to back.
pub struct Workload {
    /// Short name for tables ("s=0.90" or the file name).
    pub label: String,
    /// Cell of every layer.
    pub cell: CellKind,
    /// The layer traces.
    pub traces: Vec<ActivityTrace<f32>>,
}

impl Workload {
    /// Fraction of delta elements that did not fire, over every trace.
    pub fn sparsity(&self) -> f64 {
        let (mut fired, mut total) = (0usize, 0usize);
        for t in &self.traces {
            fired += t.input.fired() + t.hidden.fired();
            total += t.steps() * (t.n_input + t.n_hidden);
        }
        1.0 - fired as f64 / total.max(1) as f64
    }

    /// Simulates every trace dense and sparse and sums the counts.
    pub fn simulate(&self, config: &SimConfig) -> deltarnn::Result<Comparison> {
        let mut total: Option<Comparison> = None;
        for trace in &self.traces {
            let c = simulate_layer(config, self.cell, trace)?;
            match &mut total {
                Some(t) => t.add(&c),
                None => total = Some(c),
            }
        }
        Ok(total.unwrap_or(Comparison { dense: Default::default(), sparse: Default::default() }))
    }
}

impl Args {
    /// The accelerator these flags describe, validated.
    pub fn config(&self, pes: usize, dram_gbps: f64) -> Result<SimConfig> {
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0) {
            bail!("--clock-mhz must be positive, got {}", self.clock_mhz);
        }
        if !(dram_gbps.is_finite() && dram_gbps > 0.0) {
            bail!("--dram-gbps must be positive, got {dram_gbps}");
        }
        let config = SimConfig {
            pes,
            dram_bytes_per_cycle: dram_gbps * 1000.0 / self.clock_mhz,
            dram_latency_cycles: self.dram_latency,
            max_width: self.max_width,
            sram_banks: self.sram_banks,
            sram_ports: self.sram_ports,
            ..SimConfig::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The workloads: the trace file's, or one generated layer per sparsity.
    pub fn workloads(&self) -> Result<Vec<Workload>> {
        if let Some(path) = &self.trace {
            let file = tracefile::read(path).with_context(|| format!("reading trace file {}", path.display()))?;
            let label = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if file.sequences.is_empty() {
                bail!("trace file {} holds no sequences", path.display());
            }
            let traces = file.sequences.into_iter().flatten().collect();
            return Ok(vec![Workload { label, cell: file.cell, traces }]);
        }
        if let Some(s) = self.sparsity.iter().find(|s| !(**s >= 0.0 && **s < 1.0)) {
            bail!("--sparsity values must be in [0, 1), got {s}");
        }
        if self.steps == 0 {
            bail!("--steps must be at least 1");
        }
        Ok(self
            .sparsity
            .iter()
            .map(|&s| Workload {
                label: format!("s={s:.2}"),
                cell: self.cell,
                traces: vec![generate_trace(self.width, self.width, self.steps, s, &mut Rng::seed(self.seed))],
            })
            .collect())
    }
}

/// Runs `deltarnn simulate`.
pub fn run(args: Args) -> Result<()> {
    let config = args.config(args.pes, args.dram_gbps)?;
    let workloads = args.workloads()?;
    for w in &workloads {
        for trace in &w.traces {
            config.check_layer(trace.n_input, trace.n_hidden).with_context(|| format!("simulating {}", w.label))?;
        }
    }
    if args.sweep {
        return simulate_sweep::run(&args, &workloads);
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
            v["cell"] = w.cell.to_string().into();
            v["dram_gbps"] = args.dram_gbps.into();
            v["dram_bytes_per_cycle"] = config.dram_bytes_per_cycle.into();
            v["clock_mhz"] = args.clock_mhz.into();
            v["values"] = serde_json::to_value(values)?;
            println!("{v}");
        } else {
            print_table(&args, &config, w, &comparison, values.as_ref());
        }
    }
    Ok(())
}

/// The value check on the first `--value-steps` steps of the workload's first trace.
fn value_check(args: &Args, config: &SimConfig, w: &Workload) -> Result<Option<ValueCheck>> {
    let Some(trace) = w.traces.first().filter(|_| args.value_steps > 0) else { return Ok(None) };
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
    let check = check_values(config, args.format, w.cell, &prefix, 1e-3, args.seed)?;
    if !check.bit_identical {
        bail!("the simulator's {} datapath and the bit-accurate model disagree on {}", args.format, w.label);
    }
    Ok(Some(check))
}

fn print_table(args: &Args, config: &SimConfig, w: &Workload, c: &Comparison, values: Option<&ValueCheck>) {
    let mut shapes: Vec<String> = Vec::new();
    for t in &w.traces {
        let shape = format!("{}x{}", t.n_input, t.n_hidden);
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    println!(
        "{}: {} {} ({} layer traces, {} steps), sparsity {:.1}%, {} PEs, {} GB/s at {} MHz ({:.1} B/cycle), {} banks x {} ports",
        w.label,
        w.cell,
        shapes.join(", "),
        w.traces.len(),
        w.traces.iter().map(|t| t.steps()).sum::<usize>(),
        100.0 * w.sparsity(),
        config.pes,
        args.dram_gbps,
        args.clock_mhz,
        config.dram_bytes_per_cycle,
        config.sram_banks,
        config.sram_ports
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
    let stalls = |r: &deltarnn::sim::SimReport| {
        let s: u64 = r.classes.iter().map(|c| c.stall_cycles).sum();
        let b: u64 = r.classes.iter().map(|c| c.bank_stall_cycles).sum();
        (s, b)
    };
    let ((dd, db), (sd, sb)) = (stalls(&c.dense), stalls(&c.sparse));
    println!("SRAM traffic: {} B dense / {} B sparse", c.dense.total_sram_bytes(), c.sparse.total_sram_bytes());
    println!(
        "stalls: DRAM {dd} dense / {sd} sparse, SRAM banks {db} dense / {sb} sparse; largest sparse overhead: {}",
        c.sparse.main_overhead()
    );
    if let Some(v) = values {
        let a = &v.accuracy;
        println!(
            "values ({}, first {} steps): datapath == bit-accurate model; max |error| vs f64 engine: \
             M {:.2e}, e {:.2e}, dW {:.2e}; worst error/bound {:.3}{}",
            v.format,
            args.value_steps,
            a.memory_max_error,
            a.e_max_error,
            a.dw_max_error,
            a.worst_bound_ratio,
            if a.saturated > 0 { format!("; {} words saturated", a.saturated) } else { String::new() }
        );
    }
    println!();
}
