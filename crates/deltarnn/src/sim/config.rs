//! The accelerator's configuration and its validation.

use crate::{Error, Result};

/// Bytes of one column index in a fired-index list.
pub const INDEX_BYTES: u64 = 2;
/// Bytes of one step descriptor (list addresses and lengths).
pub const DESCRIPTOR_BYTES: u64 = 16;

/// How cycles are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CycleModel {
    /// As the authors' RTL counts them ([`super::rtl::cycles`], checked against it under
    /// Verilator): 16 PEs, a DRAM stream of 32 bytes (one 16-word beat) per cycle, descriptors
    /// and index lists on chip, one VXV_SP per sequence, instructions of at most 256 rows, 256
    /// columns and 256 steps (larger layers are tiled). The other fields of [`SimConfig`] do
    /// not apply.
    #[default]
    Rtl,
    /// The idealised, parametric model of [`super::machine`] for design exploration: any PE
    /// count, DRAM bandwidth and latency, SRAM banks; one VxV per step through DRAM.
    Ideal,
}

impl std::str::FromStr for CycleModel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rtl" => Ok(CycleModel::Rtl),
            "ideal" => Ok(CycleModel::Ideal),
            other => Err(Error::Invalid(format!("unknown cycle model '{other}', expected rtl or ideal"))),
        }
    }
}

/// The accelerator being modelled (spec section 4: the authors' design has 16 PEs, a 7-stage
/// pipeline, layers up to 256 wide, 16-bit words). By default cycles are counted as the RTL
/// counts them ([`CycleModel::Rtl`]); the other fields configure the idealised model, whose
/// defaults add 128 DRAM bytes per cycle (25.6 GB/s at 200 MHz), 100 cycles of DRAM latency and
/// 32 dual-ported SRAM banks (two per PE at the 16-PE point, so nothing conflicts there).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimConfig {
    /// How cycles are counted.
    #[serde(default)]
    pub model: CycleModel,
    /// RTL model only: cut layers wider than 256 rows or columns and sequences longer than 256
    /// steps into legal instructions (false: refuse them, as the RTL itself would).
    #[serde(default = "yes")]
    pub tiling: bool,
    /// Processing elements; each owns `ceil(rows / pes)` weight rows.
    pub pes: usize,
    /// Pipeline stages: an instruction pays `pipeline_depth` cycles of fill and drain.
    pub pipeline_depth: u64,
    /// DRAM bytes delivered per cycle.
    pub dram_bytes_per_cycle: f64,
    /// Cycles from a DRAM request to its first byte (paid by each step descriptor fetch).
    pub dram_latency_cycles: u64,
    /// Widest layer input or hidden size the accelerator accepts.
    pub max_width: usize,
    /// Bytes per weight or activation word (2 for BF16 and 16-bit fixed point).
    pub word_bytes: u64,
    /// On-chip SRAM banks, word-interleaved (see [`super::banks`] for the mapping).
    pub sram_banks: usize,
    /// Ports per SRAM bank: reads or writes it serves per cycle.
    pub sram_ports: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            model: CycleModel::Rtl,
            tiling: true,
            pes: 16,
            pipeline_depth: 7,
            dram_bytes_per_cycle: 128.0,
            dram_latency_cycles: 100,
            max_width: 256,
            word_bytes: 2,
            sram_banks: 32,
            sram_ports: 2,
        }
    }
}

fn yes() -> bool {
    true
}

impl SimConfig {
    /// The idealised model with the default machine (for design exploration).
    pub fn ideal() -> Self {
        SimConfig { model: CycleModel::Ideal, ..SimConfig::default() }
    }

    /// Checks the configuration itself: at least one PE, positive finite bandwidth, a word size.
    pub fn validate(&self) -> Result<()> {
        if self.pes == 0 {
            return Err(Error::Invalid("the accelerator needs at least one processing element (pes = 0)".into()));
        }
        if !(self.dram_bytes_per_cycle.is_finite() && self.dram_bytes_per_cycle > 0.0) {
            return Err(Error::Invalid(format!(
                "dram bytes per cycle must be positive and finite, got {}",
                self.dram_bytes_per_cycle
            )));
        }
        if self.word_bytes == 0 {
            return Err(Error::Invalid("word bytes must be at least 1".into()));
        }
        if self.sram_banks < 2 || self.sram_ports == 0 {
            return Err(Error::Invalid(format!(
                "the SRAM needs at least 2 banks and 1 port per bank, got {} banks of {} ports",
                self.sram_banks, self.sram_ports
            )));
        }
        if self.max_width == 0 {
            return Err(Error::Invalid("max width must be at least 1".into()));
        }
        Ok(())
    }

    /// Checks that a layer with `n_input` inputs, `n_hidden` hidden units, `rows` weight rows and
    /// `steps` steps runs: on the idealised model its widths must fit `max_width`; on the RTL
    /// model it needs 16 PEs, and without tiling at most 256 rows, 256 columns and 256 steps.
    pub fn check_layer(&self, n_input: usize, n_hidden: usize, rows: usize, steps: usize) -> Result<()> {
        self.validate()?;
        if n_input + n_hidden == 0 || rows == 0 {
            return Err(Error::Invalid("a layer needs at least one column and one row".into()));
        }
        match self.model {
            CycleModel::Ideal => {
                for (what, width) in [("input", n_input), ("hidden", n_hidden)] {
                    if width > self.max_width {
                        return Err(Error::Invalid(format!(
                            "layer {what} width {width} exceeds the accelerator's maximum width {}",
                            self.max_width
                        )));
                    }
                }
            }
            CycleModel::Rtl => {
                if self.pes != 16 {
                    return Err(Error::Invalid(format!(
                        "the RTL model has 16 PEs, got {}; use the ideal model to explore other counts",
                        self.pes
                    )));
                }
                let limit = super::rtl::tile::MAX_WIDTH;
                let columns = n_input + n_hidden;
                if !self.tiling && (rows > limit || columns > limit || steps > super::rtl::tile::MAX_STEPS) {
                    return Err(Error::Invalid(format!(
                        "a layer of {rows} rows, {columns} columns and {steps} steps exceeds the RTL's 256 \
                         rows, 256 columns and 256 steps per instruction; allow tiling to run it"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Cycles to move `bytes` through DRAM at the configured bandwidth: `ceil(bytes / bw)`.
    pub fn dram_cycles(&self, bytes: u64) -> u64 {
        if bytes == 0 {
            0
        } else {
            (bytes as f64 / self.dram_bytes_per_cycle).ceil() as u64
        }
    }
}
