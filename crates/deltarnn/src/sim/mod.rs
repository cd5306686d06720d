//! A cycle-level model of a temporally sparse training accelerator (spec section 4, the authors'
//! RENETA design): N processing elements (PEs), weights column-grouped in DRAM so one fired index
//! fetches one column, per-step fired index/value lists with a descriptor per step, a pipeline of
//! `pipeline_depth` stages, and the instructions MxV, MTxV and VxV, dense and sparse.
//!
//! [`program::compile`] turns a layer's [`ActivityTrace`] into the instruction stream of one
//! training step (forward MxV per step, then backward MTxV and VxV per step in reverse time);
//! [`machine::run`] counts its cycles, MACs and DRAM bytes; [`simulate_layer`] runs the same
//! trace dense and sparse.
//!
//! # The cycle model
//!
//! Rows R = gates x H (4H LSTM, 3H GRU), P PEs, PE p owns the rows r with r mod P = p and does
//! one MAC a cycle. A column of any class takes ceil(R / P) row slots; MTxV's per-PE partial sums
//! then flow through an adder chain of P - 1 adders, which is pipelined across columns and so
//! costs P - 1 cycles once per instruction. A row slot takes longer when SRAM banks conflict
//! ([`banks`]: the busiest bank's ceil(accesses / ports)). A column streams its DRAM bytes while
//! it computes: (R + 1) words for MxV and MTxV (the weight column and the delta value), (2R + 1)
//! words for VxV (the gradient column read and written back), plus a 2-byte index when sparse;
//! when those bytes take longer than the column's SRAM cycles at `dram_bytes_per_cycle`, the
//! column stalls for the difference. Once per instruction: pipeline fill and drain
//! (`pipeline_depth`), and the R-word vector MxV writes (M_t to the tape) or MTxV reads (G_t).
//! Once per step and pass: a 16-byte descriptor fetch, paying the DRAM latency.
//!
//! # Dense cycles in closed form
//!
//! With W = word bytes, B = DRAM bytes per cycle, L = DRAM latency, d = pipeline depth, N = F + H,
//! T steps, and K_a the SRAM cycles of a column making a accesses per row (a = 1 MxV, 2 MTxV,
//! 3 VxV):
//!
//! ```text
//! K_a            = ceil(R/P)                  (P <= banks/2, ports >= 2: conflict free)
//!                = (R/P) ceil(a m / ports)    (P = m x banks, P divides R)
//! C_mxv          = max(K_1, ceil((R+1) W / B))
//! C_mtxv         = max(K_2, ceil((R+1) W / B))
//! C_vxv          = max(K_3, ceil((2R+1) W / B))
//! D              = L + ceil(16 / B)              (descriptor fetch)
//! V              = ceil(R W / B)                 (MxV result / MTxV G_t vector)
//! dense cycles   = T (2D + N (C_mxv + C_mtxv + C_vxv) + 3d + (P - 1) + 2V)
//! ```
//!
//! Sparse cycles replace N by the fired columns n_t of each step (plus the 2 index bytes in each
//! column), and a step with no fired column costs only its two descriptors. So with ample
//! bandwidth the speedup tends to 1 / (1 - s) as the per-column work dominates.
//!
//! # Values
//!
//! [`datapath`] computes the real values of the sparse program in BF16 or FXP16 ([`numeric`]);
//! [`bitmodel`] is the scalar model that must give the same bits; [`accuracy`] states and checks
//! the error bounds against the f64 engine. [`check_values`] does all three.
//!
//! Not modelled: elementwise gate work, the head, and overlap between instructions (they run
//! back to back).
//!
//! **Invariant:** simulated MACs equal [`LayerCost::from_trace`] on the same trace, per op class.
//!
//! [`LayerCost::from_trace`]: crate::cost::LayerCost::from_trace

pub mod accuracy;
pub mod banks;
pub mod bf16_ops;
pub mod bitmodel;
pub mod config;
pub mod datapath;
pub mod machine;
pub mod numeric;
pub mod program;
pub mod report;
pub mod rtl;

pub use accuracy::Accuracy;
pub use config::{CycleModel, SimConfig};
pub use numeric::Format;
pub use program::{compile, generate_trace, Instruction, OpClass, Program};
pub use report::{ClassStats, Comparison, SimReport};

use crate::delta::ActivityTrace;
use crate::kernels::Real;
use crate::nn::CellKind;
use crate::Result;

/// Simulates one layer's training step on `trace`, dense and sparse.
///
/// Shapes: rows = `cell.gates() * trace.n_hidden`, columns = `trace.n_input + trace.n_hidden`,
/// `trace.steps()` steps, counted by `config.model`. Errors when the configuration is invalid,
/// the layer is wider than `config.max_width` (idealised model) or, without tiling, beyond the
/// RTL's instruction limits (RTL model).
pub fn simulate_layer<T: Real>(config: &SimConfig, cell: CellKind, trace: &ActivityTrace<T>) -> Result<Comparison> {
    let rows = cell.gates() * trace.n_hidden;
    config.check_layer(trace.n_input, trace.n_hidden, rows, trace.steps())?;
    Ok(match config.model {
        CycleModel::Ideal => Comparison {
            dense: machine::run(config, &compile(cell, trace, true)),
            sparse: machine::run(config, &compile(cell, trace, false)),
        },
        CycleModel::Rtl => simulate_matrix(&rtl::tiling::MatrixActivity::layer(cell.gates(), trace)),
    })
}

/// Simulates one weight matrix's training step on the RTL model, dense against sparse (dense:
/// every column fires at every step). Shapes: `activity.rows x activity.columns`, any size (it
/// is tiled; [`rtl::tiling`]).
pub fn simulate_matrix(activity: &rtl::tiling::MatrixActivity) -> Comparison {
    Comparison { dense: rtl::cycles::simulate(activity, true), sparse: rtl::cycles::simulate(activity, false) }
}

/// The value side of one layer's sparse training step in `format`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ValueCheck {
    /// The datapath's number format.
    pub format: Format,
    /// Whether the simulator's datapath and the bit-accurate model gave the same bits.
    pub bit_identical: bool,
    /// The datapath against the f64 engine.
    pub accuracy: Accuracy,
}

/// Runs `trace`'s sparse training step with real values through the simulator's datapath in
/// `format` (seeded Xavier weights and G_t of standard deviation `grad_scale`, the trace's own
/// deltas), checks the bits against [`bitmodel::training_step`] and the values against the f64
/// engine ([`accuracy::compare`]).
///
/// Shapes: as [`simulate_layer`].
pub fn check_values<T: Real>(
    config: &SimConfig,
    format: Format,
    cell: CellKind,
    trace: &ActivityTrace<T>,
    grad_scale: f64,
    seed: u64,
) -> Result<ValueCheck> {
    config.check_layer(trace.n_input, trace.n_hidden, cell.gates() * trace.n_hidden, trace.steps())?;
    let program = compile(cell, trace, false);
    let values = accuracy::StepValues::random(program.rows, trace, grad_scale, seed);
    let engine = accuracy::engine(&values);
    let inputs = accuracy::quantize(format, &values, &engine);
    let outputs = datapath::execute(config.pes, &program, &inputs);
    let bit_identical = outputs == bitmodel::training_step(config.pes, &inputs);
    let accuracy = accuracy::compare(&values, &inputs, &engine, &outputs);
    Ok(ValueCheck { format, bit_identical, accuracy })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::LayerCost;
    use crate::rng::Rng;
    use crate::Error;

    /// The closed form of the module docs, written independently of the machine, for
    /// configurations where the SRAM term K has its closed form: P <= banks / 2 with 2 ports
    /// (K = ceil(R/P)) or P = m x banks with P dividing R (K = R/P x ceil(a m / ports)).
    fn dense_cycles_closed_form(c: &SimConfig, cell: CellKind, f: usize, h: usize, steps: usize) -> u64 {
        let r = (cell.gates() * h) as u64;
        let p = c.pes as u64;
        let k = |a: u64| {
            if c.pes <= c.sram_banks / 2 && c.sram_ports >= 2 {
                r.div_ceil(p)
            } else {
                assert!(c.pes % c.sram_banks == 0 && r % p == 0, "no closed form for {c:?}");
                r / p * (a * (c.pes / c.sram_banks) as u64).div_ceil(c.sram_ports as u64)
            }
        };
        let ceil = |bytes: u64| (bytes as f64 / c.dram_bytes_per_cycle).ceil() as u64;
        let w = c.word_bytes;
        let c_mxv = k(1).max(ceil((r + 1) * w));
        let c_mtxv = k(2).max(ceil((r + 1) * w));
        let c_vxv = k(3).max(ceil((2 * r + 1) * w));
        let d = c.dram_latency_cycles + ceil(16);
        let v = ceil(r * w);
        let n = (f + h) as u64;
        steps as u64 * (2 * d + n * (c_mxv + c_mtxv + c_vxv) + 3 * c.pipeline_depth + (p - 1) + 2 * v)
    }

    #[test]
    fn simulated_macs_equal_cost_model_macs_per_class() {
        for (cell, f, h, s) in
            [(CellKind::Lstm, 16, 64, 0.8), (CellKind::Gru, 40, 128, 0.5), (CellKind::Lstm, 7, 5, 0.3)]
        {
            let trace = generate_trace(f, h, 50, s, &mut Rng::seed(3));
            let cost = LayerCost::from_trace(cell, &trace);
            let sim = simulate_layer(&SimConfig::ideal(), cell, &trace).unwrap();
            assert_eq!(sim.sparse.class(OpClass::Mxv).macs, cost.forward_mxv.actual_macs);
            assert_eq!(sim.sparse.class(OpClass::Mtxv).macs, cost.backward_mxv.actual_macs);
            assert_eq!(sim.sparse.class(OpClass::Vxv).macs, cost.weight_grad.actual_macs);
            assert_eq!(sim.dense.class(OpClass::Mxv).macs, cost.forward_mxv.dense_macs);
            assert_eq!(sim.dense.class(OpClass::Mtxv).macs, cost.backward_mxv.dense_macs);
            assert_eq!(sim.dense.class(OpClass::Vxv).macs, cost.weight_grad.dense_macs);
            assert_eq!(sim.sparse.total_macs(), cost.training().actual_macs);
        }
    }

    #[test]
    fn simulated_macs_equal_cost_model_on_a_real_encoder_trace() {
        use crate::delta::encode;
        use crate::signals::random_walk;
        let (f, h, steps) = (12, 20, 40);
        let x: Vec<f32> = random_walk(&mut Rng::seed(9), steps, f, 0.3);
        let hs: Vec<f32> = random_walk(&mut Rng::seed(10), steps, h, 0.3);
        let mut trace = ActivityTrace::with_capacity(f, h, steps);
        let (mut x_ref, mut h_ref) = (vec![0.0f32; f], vec![0.0f32; h]);
        for t in 0..steps {
            encode(&mut trace.input, &x[t * f..(t + 1) * f], &mut x_ref, 0.25);
            encode(&mut trace.hidden, &hs[t * h..(t + 1) * h], &mut h_ref, 0.25);
        }
        let cost = LayerCost::from_trace(CellKind::Lstm, &trace);
        let sim = simulate_layer(&SimConfig::ideal(), CellKind::Lstm, &trace).unwrap();
        assert_eq!(sim.sparse.total_macs(), cost.training().actual_macs);
        assert_eq!(sim.dense.total_macs(), cost.training().dense_macs);
    }

    #[test]
    fn dense_cycles_match_the_closed_form() {
        let narrow_dram = SimConfig { dram_bytes_per_cycle: 3.0, dram_latency_cycles: 40, ..SimConfig::ideal() };
        let configs = [
            SimConfig::ideal(),
            SimConfig { pes: 64, sram_banks: 128, ..SimConfig::ideal() },
            SimConfig { pes: 5, pipeline_depth: 3, ..SimConfig::ideal() },
            narrow_dram,
            // Bank-limited: P = banks and P = 2 x banks, one and two ports.
            SimConfig { pes: 32, ..SimConfig::ideal() },
            SimConfig { pes: 64, ..SimConfig::ideal() },
            SimConfig { pes: 32, sram_banks: 16, sram_ports: 1, ..SimConfig::ideal() },
        ];
        let shapes = [
            (CellKind::Lstm, 256, 256, 8),
            (CellKind::Lstm, 16, 64, 20),
            (CellKind::Gru, 40, 128, 11),
            (CellKind::Gru, 3, 7, 5),
        ];
        for config in &configs {
            for &(cell, f, h, steps) in &shapes {
                let bank_limited = config.pes > config.sram_banks / 2;
                if bank_limited && (cell.gates() * h) % config.pes != 0 {
                    continue; // K has no closed form for a partial last row slot
                }
                let trace = generate_trace(f, h, steps, 0.9, &mut Rng::seed(1));
                let sim = simulate_layer(config, cell, &trace).unwrap();
                assert_eq!(
                    sim.dense.total_cycles(),
                    dense_cycles_closed_form(config, cell, f, h, steps),
                    "{config:?} {cell:?} {f} {h} {steps}"
                );
            }
        }
    }

    #[test]
    fn sparse_speedup_is_within_ten_percent_of_ideal_with_ample_bandwidth() {
        let config = SimConfig::ideal();
        for s in [0.5, 0.8, 0.9] {
            let trace = generate_trace(256, 256, 256, s, &mut Rng::seed(7));
            let sim = simulate_layer(&config, CellKind::Lstm, &trace).unwrap();
            let ideal = 1.0 / (1.0 - s);
            let speedup = sim.speedup();
            assert!((speedup / ideal - 1.0).abs() < 0.10, "s {s}: speedup {speedup} ideal {ideal}");
            // DRAM is not the bottleneck and the banks do not conflict at the default 16 PEs.
            for report in [&sim.dense, &sim.sparse] {
                assert_eq!(report.classes.iter().map(|c| c.stall_cycles + c.bank_stall_cycles).sum::<u64>(), 0);
            }
        }
    }

    #[test]
    fn the_56k_models_small_layers_miss_the_ideal_at_many_pes() {
        // 2 x 64 LSTM on 16 features at 80% sparsity: R = 256 rows, so at 64 PEs a column takes
        // 4 cycles while each step pays descriptors, fill/drain, the 63-adder chain and vectors.
        let layers =
            [generate_trace(16, 64, 100, 0.8, &mut Rng::seed(1)), generate_trace(64, 64, 100, 0.8, &mut Rng::seed(2))];
        let run = |pes: usize| {
            let config = SimConfig { pes, sram_banks: 2 * pes.max(16), ..SimConfig::ideal() };
            let mut total = simulate_layer(&config, CellKind::Lstm, &layers[0]).unwrap();
            total.add(&simulate_layer(&config, CellKind::Lstm, &layers[1]).unwrap());
            total
        };
        let (few, many) = (run(4), run(64));
        assert!(few.speedup() > 0.9 * few.ideal_speedup(), "{} of {}", few.speedup(), few.ideal_speedup());
        assert!(many.speedup() < 0.7 * many.ideal_speedup(), "{} of {}", many.speedup(), many.ideal_speedup());
        assert_eq!(many.sparse.main_overhead(), "fixed");
        assert_eq!(many.shortfall_cause(), "fixed costs");
    }

    #[test]
    fn bank_conflicts_slow_dense_and_sparse_alike() {
        let trace = generate_trace(256, 256, 16, 0.8, &mut Rng::seed(7));
        let conflicted = SimConfig { pes: 64, ..SimConfig::ideal() };
        let free = SimConfig { pes: 64, sram_banks: 128, ..SimConfig::ideal() };
        let (a, b) = (
            simulate_layer(&conflicted, CellKind::Lstm, &trace).unwrap(),
            simulate_layer(&free, CellKind::Lstm, &trace).unwrap(),
        );
        let banks: u64 = a.sparse.classes.iter().map(|c| c.bank_stall_cycles).sum();
        assert!(banks > 0 && a.sparse.total_cycles() > b.sparse.total_cycles());
        assert!((a.speedup() / b.speedup() - 1.0).abs() < 0.05, "{} vs {}", a.speedup(), b.speedup());
    }

    #[test]
    fn tiny_dram_bandwidth_makes_the_layer_dram_bound() {
        // Weights stream from DRAM column by column, so skipping a column also skips its bytes:
        // a starved DRAM slows dense and sparse alike, and the speedup follows the DRAM byte
        // ratio (below the MAC ratio: index bytes and per-step vectors do not shrink).
        let trace = generate_trace(256, 256, 64, 0.9, &mut Rng::seed(7));
        let ample = simulate_layer(&SimConfig::ideal(), CellKind::Lstm, &trace).unwrap();
        let tiny = SimConfig { dram_bytes_per_cycle: 1.0, ..SimConfig::ideal() };
        let starved = simulate_layer(&tiny, CellKind::Lstm, &trace).unwrap();
        let stalls: u64 = starved.sparse.classes.iter().map(|c| c.stall_cycles).sum();
        assert!(stalls > starved.sparse.total_cycles() / 2, "DRAM should dominate: {stalls}");
        assert!(starved.sparse.total_cycles() > 20 * ample.sparse.total_cycles());
        assert!(starved.sparse.utilisation() < ample.sparse.utilisation() / 20.0);
        let byte_ratio = starved.dense.total_dram_bytes() as f64 / starved.sparse.total_dram_bytes() as f64;
        assert!((starved.speedup() / byte_ratio - 1.0).abs() < 0.03, "{} vs {byte_ratio}", starved.speedup());
        assert!(starved.speedup() < starved.ideal_speedup());
        // What is lost is mostly the per-step M_t and G_t vectors, R words each through the
        // starved DRAM whatever fires, more than the index bytes.
        assert_eq!(starved.shortfall_cause(), "fixed costs");
    }

    #[test]
    fn fixed_per_step_costs_lower_the_speedup_on_small_layers() {
        // A long DRAM latency per descriptor, paid whatever fires, caps the speedup.
        let trace = generate_trace(256, 256, 64, 0.9, &mut Rng::seed(7));
        let slow = SimConfig { dram_latency_cycles: 20_000, ..SimConfig::ideal() };
        let capped = simulate_layer(&slow, CellKind::Lstm, &trace).unwrap();
        assert!(capped.speedup() < 0.6 * capped.ideal_speedup(), "{}", capped.speedup());
        // A tiny layer: the pipeline fill, adder chain and vectors dominate its few columns.
        let tiny_layer = generate_trace(4, 4, 64, 0.5, &mut Rng::seed(7));
        let small = simulate_layer(&SimConfig::ideal(), CellKind::Lstm, &tiny_layer).unwrap();
        assert!(small.speedup() < 1.2, "{}", small.speedup());
    }

    #[test]
    fn bad_configs_and_layers_give_errors() {
        let trace = generate_trace(8, 8, 4, 0.5, &mut Rng::seed(1));
        let zero_pes = SimConfig { pes: 0, ..SimConfig::ideal() };
        let err = simulate_layer(&zero_pes, CellKind::Lstm, &trace).unwrap_err();
        assert!(matches!(&err, Error::Invalid(m) if m.contains("pes = 0")), "{err}");
        let wide = generate_trace(300, 8, 2, 0.5, &mut Rng::seed(1));
        let err = simulate_layer(&SimConfig::ideal(), CellKind::Lstm, &wide).unwrap_err();
        assert!(err.to_string().contains("input width 300 exceeds"), "{err}");
        let no_bandwidth = SimConfig { dram_bytes_per_cycle: 0.0, ..SimConfig::ideal() };
        assert!(simulate_layer(&no_bandwidth, CellKind::Gru, &trace).is_err());
        for (banks, ports) in [(1, 2), (32, 0)] {
            let sram = SimConfig { sram_banks: banks, sram_ports: ports, ..SimConfig::ideal() };
            let err = simulate_layer(&sram, CellKind::Lstm, &trace).unwrap_err();
            assert!(err.to_string().contains("at least 2 banks"), "{err}");
        }
        let err = check_values(&SimConfig::ideal(), Format::Bf16, CellKind::Lstm, &wide, 1e-3, 1).unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
    }

    #[test]
    fn generated_trace_fires_the_requested_fraction_every_step() {
        let trace = generate_trace(100, 50, 10, 0.8, &mut Rng::seed(2));
        for t in 0..10 {
            assert_eq!(trace.input.step(t).0.len(), 20);
            assert_eq!(trace.hidden.step(t).0.len(), 10);
            assert!(trace.input.step(t).0.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(trace.input.nonzero(), trace.input.fired());
    }

    #[test]
    fn an_empty_step_issues_only_its_descriptors() {
        let trace = generate_trace(4, 4, 3, 1.0, &mut Rng::seed(2));
        let program = compile(CellKind::Lstm, &trace, false);
        assert_eq!(program.instructions.len(), 6);
        assert!(program.instructions.iter().all(|i| matches!(i, Instruction::Descriptor { .. })));
    }
}
