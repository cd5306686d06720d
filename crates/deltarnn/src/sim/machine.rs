//! The cycle model: runs a [`Program`] and counts cycles, MACs and DRAM bytes.

use super::banks;
use super::config::{SimConfig, DESCRIPTOR_BYTES, INDEX_BYTES};
use super::program::{Instruction, OpClass, Program};
use super::report::SimReport;

/// Cycles one column occupies the PEs: each of the `pes` PEs owns `ceil(rows / pes)` rows and
/// does one MAC per cycle.
pub fn row_cycles(rows: usize, pes: usize) -> u64 {
    rows.div_ceil(pes) as u64
}

/// DRAM bytes one column of `class` moves: the weight column (rows words) for MxV and MTxV, the
/// gradient column read and written back (2 x rows words) for VxV, plus the delta value (and, when
/// sparse, its index).
pub fn column_bytes(config: &SimConfig, class: OpClass, rows: usize, dense: bool) -> u64 {
    let words = match class {
        OpClass::Mxv | OpClass::Mtxv => rows as u64,
        OpClass::Vxv => 2 * rows as u64,
    };
    let index = if dense { 0 } else { INDEX_BYTES };
    words * config.word_bytes + config.word_bytes + index
}

/// DRAM bytes of the vector an instruction moves once: MxV writes its rows-long result to the
/// tape, MTxV reads the rows-long G_t; VxV reuses G_t already on chip.
pub fn vector_bytes(config: &SimConfig, class: OpClass, rows: usize) -> u64 {
    match class {
        OpClass::Mxv | OpClass::Mtxv => rows as u64 * config.word_bytes,
        OpClass::Vxv => 0,
    }
}

/// Extra latency of an instruction beyond its columns: pipeline fill and drain, plus for MTxV
/// the adder chain across the PEs (pes - 1 adders).
pub fn fixed_latency(config: &SimConfig, class: OpClass) -> u64 {
    let chain = match class {
        OpClass::Mtxv => config.pes as u64 - 1,
        OpClass::Mxv | OpClass::Vxv => 0,
    };
    config.pipeline_depth + chain
}

/// Cycles of one descriptor fetch: DRAM latency plus its transfer.
pub fn descriptor_cycles(config: &SimConfig) -> u64 {
    config.dram_latency_cycles + config.dram_cycles(DESCRIPTOR_BYTES)
}

/// Runs `program` on the accelerator `config` (already validated for the program's shape).
///
/// Per matrix instruction over c columns of a rows-long weight matrix: each column takes
/// `max(banks::column_cycles, dram_cycles(column_bytes))`: `row_cycles` of compute, the bank
/// conflicts beyond it, and DRAM stall for the rest (columns stream, so fetch overlaps
/// compute); plus once [`fixed_latency`] and `dram_cycles(vector_bytes)`. Each descriptor costs
/// [`descriptor_cycles`]. Instructions run one after another.
pub fn run(config: &SimConfig, program: &Program) -> SimReport {
    let mut report = SimReport { pes: config.pes, ..SimReport::default() };
    let rows = program.rows;
    let compute_per_column = row_cycles(rows, config.pes);
    let sram_per_column = OpClass::ALL.map(|class| banks::column_cycles(config, class, rows));
    for instruction in &program.instructions {
        match instruction {
            Instruction::Descriptor { .. } => {
                report.descriptors += 1;
                report.descriptor_cycles += descriptor_cycles(config);
                report.descriptor_bytes += DESCRIPTOR_BYTES;
            }
            Instruction::Matrix { class, dense, columns } => {
                let n = columns.len() as u64;
                let per_column_bytes = column_bytes(config, *class, rows, *dense);
                let sram = sram_per_column[*class as usize];
                let per_column = sram.max(config.dram_cycles(per_column_bytes));
                let vector = vector_bytes(config, *class, rows);
                let stats = report.class_mut(*class);
                stats.instructions += 1;
                stats.columns += n;
                stats.macs += n * rows as u64;
                stats.compute_cycles += n * compute_per_column;
                stats.bank_stall_cycles += n * (sram - compute_per_column);
                stats.stall_cycles += n * (per_column - sram);
                stats.overhead_cycles += fixed_latency(config, *class) + config.dram_cycles(vector);
                stats.dram_bytes += n * per_column_bytes + vector;
                stats.sram_bytes += n * rows as u64 * banks::accesses_per_row(*class) * config.word_bytes;
            }
        }
    }
    report
}
