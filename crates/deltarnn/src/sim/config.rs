//! The accelerator's configuration and its validation.

use crate::{Error, Result};

/// Bytes of one column index in a fired-index list.
pub const INDEX_BYTES: u64 = 2;
/// Bytes of one step descriptor (list addresses and lengths).
pub const DESCRIPTOR_BYTES: u64 = 16;

/// The accelerator being modelled (spec section 4: the authors' design has 16 PEs, a 7-stage
/// pipeline, layers up to 256 wide, 16-bit words). The defaults add 128 DRAM bytes per cycle
/// (25.6 GB/s at 200 MHz), 100 cycles of DRAM latency and 32 dual-ported SRAM banks (two per PE
/// at the 16-PE point, so nothing conflicts there).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimConfig {
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

impl SimConfig {
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

    /// Checks that a layer with `n_input` inputs and `n_hidden` hidden units fits.
    pub fn check_layer(&self, n_input: usize, n_hidden: usize) -> Result<()> {
        self.validate()?;
        for (what, width) in [("input", n_input), ("hidden", n_hidden)] {
            if width == 0 {
                return Err(Error::Invalid(format!("layer {what} width must be at least 1")));
            }
            if width > self.max_width {
                return Err(Error::Invalid(format!(
                    "layer {what} width {width} exceeds the accelerator's maximum width {}",
                    self.max_width
                )));
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
