//! What a simulation counts: cycles, MACs, DRAM bytes per instruction class and in total.

use super::program::OpClass;

/// Counts of one instruction class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassStats {
    /// Instructions issued.
    pub instructions: u64,
    /// Columns visited.
    pub columns: u64,
    /// Multiply-accumulates (columns x rows; padding rows of the last PE are not counted).
    pub macs: u64,
    /// Cycles the PEs compute: columns x ceil(rows / pes).
    pub compute_cycles: u64,
    /// Cycles the PEs wait on SRAM bank conflicts (beyond `compute_cycles`).
    pub bank_stall_cycles: u64,
    /// Cycles waiting for DRAM because a column's bytes take longer than its compute and SRAM
    /// accesses.
    pub stall_cycles: u64,
    /// Pipeline fill and drain, the MTxV adder chain, and result/gradient vector transfers.
    pub overhead_cycles: u64,
    /// DRAM bytes moved (weight or gradient columns, index/value lists, vectors).
    pub dram_bytes: u64,
    /// On-chip SRAM bytes read and written by the PEs (column and vector words, see
    /// [`super::banks`]).
    pub sram_bytes: u64,
}

impl ClassStats {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &ClassStats) {
        self.instructions += o.instructions;
        self.columns += o.columns;
        self.macs += o.macs;
        self.compute_cycles += o.compute_cycles;
        self.bank_stall_cycles += o.bank_stall_cycles;
        self.stall_cycles += o.stall_cycles;
        self.overhead_cycles += o.overhead_cycles;
        self.dram_bytes += o.dram_bytes;
        self.sram_bytes += o.sram_bytes;
    }

    /// All cycles of this class.
    pub fn cycles(&self) -> u64 {
        self.compute_cycles + self.bank_stall_cycles + self.stall_cycles + self.overhead_cycles
    }
}

/// The result of running one program.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimReport {
    /// Processing elements simulated.
    pub pes: usize,
    /// MxV, MTxV, VxV, in [`OpClass::ALL`] order.
    pub classes: [ClassStats; 3],
    /// Step descriptors fetched.
    pub descriptors: u64,
    /// Cycles spent fetching descriptors (latency plus transfer).
    pub descriptor_cycles: u64,
    /// Descriptor bytes read from DRAM.
    pub descriptor_bytes: u64,
}

impl SimReport {
    /// Adds another run's counts (e.g. the next layer or sequence), run back to back.
    pub fn add(&mut self, o: &SimReport) {
        for (a, b) in self.classes.iter_mut().zip(&o.classes) {
            a.add(b);
        }
        self.descriptors += o.descriptors;
        self.descriptor_cycles += o.descriptor_cycles;
        self.descriptor_bytes += o.descriptor_bytes;
    }

    /// The largest of the cycles beyond pure compute, which is what keeps a sparse run from the
    /// ideal speedup (compute itself scales exactly with the fired columns): "dram" (DRAM
    /// stalls), "banks" (SRAM conflicts) or "fixed" (pipeline fill/drain, adder chain, vectors and
    /// descriptors: per-instruction and per-step costs); "none" when there are none.
    pub fn main_overhead(&self) -> &'static str {
        let sum = |f: fn(&ClassStats) -> u64| self.classes.iter().map(f).sum::<u64>();
        let dram = sum(|c| c.stall_cycles);
        let banks = sum(|c| c.bank_stall_cycles);
        let fixed = sum(|c| c.overhead_cycles) + self.descriptor_cycles;
        if dram + banks + fixed == 0 {
            "none"
        } else if dram >= banks && dram >= fixed {
            "dram"
        } else if banks >= fixed {
            "banks"
        } else {
            "fixed"
        }
    }

    /// The counts of one class.
    pub fn class(&self, class: OpClass) -> &ClassStats {
        &self.classes[class as usize]
    }

    /// Mutable counts of one class.
    pub fn class_mut(&mut self, class: OpClass) -> &mut ClassStats {
        &mut self.classes[class as usize]
    }

    /// Every cycle: the three classes plus descriptor fetches.
    pub fn total_cycles(&self) -> u64 {
        self.classes.iter().map(ClassStats::cycles).sum::<u64>() + self.descriptor_cycles
    }

    /// Every MAC.
    pub fn total_macs(&self) -> u64 {
        self.classes.iter().map(|c| c.macs).sum()
    }

    /// Every DRAM byte.
    pub fn total_dram_bytes(&self) -> u64 {
        self.classes.iter().map(|c| c.dram_bytes).sum::<u64>() + self.descriptor_bytes
    }

    /// Every SRAM byte the PEs move.
    pub fn total_sram_bytes(&self) -> u64 {
        self.classes.iter().map(|c| c.sram_bytes).sum()
    }

    /// PE utilisation: MACs / (pes x cycles), in [0, 1] (0 when nothing ran).
    pub fn utilisation(&self) -> f64 {
        utilisation(self.total_macs(), self.pes, self.total_cycles())
    }

    /// PE utilisation of one class over that class's own cycles.
    pub fn class_utilisation(&self, class: OpClass) -> f64 {
        let c = self.class(class);
        utilisation(c.macs, self.pes, c.cycles())
    }
}

fn utilisation(macs: u64, pes: usize, cycles: u64) -> f64 {
    if cycles == 0 {
        0.0
    } else {
        macs as f64 / (pes as f64 * cycles as f64)
    }
}

/// The same layer run dense and sparse.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    /// Every column every step.
    pub dense: SimReport,
    /// Only the fired columns.
    pub sparse: SimReport,
}

impl Comparison {
    /// Adds another run's dense and sparse counts.
    pub fn add(&mut self, o: &Comparison) {
        self.dense.add(&o.dense);
        self.sparse.add(&o.sparse);
    }

    /// Dense cycles / sparse cycles over the whole training step.
    pub fn speedup(&self) -> f64 {
        ratio(self.dense.total_cycles(), self.sparse.total_cycles())
    }

    /// Dense cycles / sparse cycles of one class.
    pub fn class_speedup(&self, class: OpClass) -> f64 {
        ratio(self.dense.class(class).cycles(), self.sparse.class(class).cycles())
    }

    /// What keeps the speedup below the ideal. The sparse cycles beyond dense / ideal split into
    /// per-column cycles (compute and bank cycles scale exactly with the columns, so this is the
    /// DRAM time of the 2 index bytes each sparse column adds when columns are DRAM bound) and
    /// fixed cycles (fill/drain, adder chain, vectors and descriptors, which do not shrink).
    /// Returns "index bytes" or "fixed costs", whichever is larger.
    pub fn shortfall_cause(&self) -> &'static str {
        let ideal = self.ideal_speedup().max(1e-12);
        let fixed =
            |r: &SimReport| (r.classes.iter().map(|c| c.overhead_cycles).sum::<u64>() + r.descriptor_cycles) as f64;
        let columns = |r: &SimReport| r.total_cycles() as f64 - fixed(r);
        let fixed_excess = fixed(&self.sparse) - fixed(&self.dense) / ideal;
        let column_excess = columns(&self.sparse) - columns(&self.dense) / ideal;
        if column_excess > fixed_excess {
            "index bytes"
        } else {
            "fixed costs"
        }
    }

    /// The ideal speedup 1 / (1 - s) from the work itself: dense MACs / sparse MACs.
    pub fn ideal_speedup(&self) -> f64 {
        ratio(self.dense.total_macs(), self.sparse.total_macs())
    }

    /// A JSON object: per class and in total, dense and sparse cycles, speedup, PE utilisation,
    /// MACs and DRAM bytes, plus the ideal speedup.
    pub fn to_json(&self) -> serde_json::Value {
        let mut classes = serde_json::Map::new();
        for class in OpClass::ALL {
            let (d, s) = (self.dense.class(class), self.sparse.class(class));
            classes.insert(
                class.name().into(),
                serde_json::json!({
                    "dense_cycles": d.cycles(),
                    "sparse_cycles": s.cycles(),
                    "speedup": self.class_speedup(class),
                    "ideal": ratio(d.macs, s.macs),
                    "dense_utilisation": self.dense.class_utilisation(class),
                    "sparse_utilisation": self.sparse.class_utilisation(class),
                    "dense_macs": d.macs,
                    "sparse_macs": s.macs,
                    "dense_dram_stall_cycles": d.stall_cycles,
                    "sparse_dram_stall_cycles": s.stall_cycles,
                    "dense_bank_stall_cycles": d.bank_stall_cycles,
                    "sparse_bank_stall_cycles": s.bank_stall_cycles,
                    "dense_dram_bytes": d.dram_bytes,
                    "sparse_dram_bytes": s.dram_bytes,
                    "dense_sram_bytes": d.sram_bytes,
                    "sparse_sram_bytes": s.sram_bytes,
                }),
            );
        }
        serde_json::json!({
            "classes": classes,
            "sparse_main_overhead": self.sparse.main_overhead(),
            "total": {
                "dense_cycles": self.dense.total_cycles(),
                "sparse_cycles": self.sparse.total_cycles(),
                "speedup": self.speedup(),
                "ideal": self.ideal_speedup(),
                "dense_utilisation": self.dense.utilisation(),
                "sparse_utilisation": self.sparse.utilisation(),
                "dense_macs": self.dense.total_macs(),
                "sparse_macs": self.sparse.total_macs(),
                "dense_dram_bytes": self.dense.total_dram_bytes(),
                "sparse_dram_bytes": self.sparse.total_dram_bytes(),
                "dense_sram_bytes": self.dense.total_sram_bytes(),
                "sparse_sram_bytes": self.sparse.total_sram_bytes(),
            },
        })
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
