//! The authors' PE arithmetic on raw 16-bit words, as their RTL computes it.
//!
//! **FXP16** (`dtv1_macc_fxp.sv`): a product keeps the low 16 bits of the signed 32-bit product
//! (two's-complement wrap-around, no shift, no rounding, no saturation) and every sum is a 16-bit
//! wrapping add; there is no wider accumulator. The arithmetic is therefore exact modulo 2^16, so
//! the order of accumulation does not change a result; a word's meaning (its fraction bits) is
//! the user's: the product of Q.a and Q.b words is a Q.(a+b) word.
//!
//! **BF16** (`dtv1_macc_fp.sv`): DesignWare `DW_fp_mult` and `DW_fp_add` with 7 fraction bits,
//! 8 exponent bits, `ieee_compliance` 0 and round to nearest even, here their open model
//! ([`crate::sim::bf16_ops`], its f32 fast path): every product and every sum rounds to BF16,
//! denormals are zero,
//! and the accumulator is itself a BF16 word, so the order of accumulation matters; the callers
//! follow the RTL's order (see [`super::tile`]).

use crate::sim::bf16_ops::{bf16_add_fast, bf16_mul_fast};
use crate::sim::Format;

/// One multiply and one add of the PE array in `format`, on raw words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arith(pub Format);

impl Arith {
    /// `a x b` as the PE computes it.
    #[inline(always)]
    pub fn mul(self, a: u16, b: u16) -> u16 {
        match self.0 {
            Format::Fxp16 => (a as i16).wrapping_mul(b as i16) as u16,
            Format::Bf16 => bf16_mul_fast(a, b),
        }
    }

    /// `a + b` as the PE's adder computes it.
    #[inline(always)]
    pub fn add(self, a: u16, b: u16) -> u16 {
        match self.0 {
            Format::Fxp16 => (a as i16).wrapping_add(b as i16) as u16,
            Format::Bf16 => bf16_add_fast(a, b),
        }
    }

    /// The word for zero (both formats: all bits clear).
    pub const ZERO: u16 = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::numeric::{bf16_from_f32, bf16_to_f32};

    #[test]
    fn fxp16_wraps_products_and_sums_to_16_bits() {
        let a = Arith(Format::Fxp16);
        assert_eq!(a.mul(3u16, (-5i16) as u16) as i16, -15);
        // 300 x 300 = 90000 = 0x15F90: the low 16 bits 0x5F90 = 24464.
        assert_eq!(a.mul(300, 300) as i16, 24464);
        assert_eq!(a.add(0x7FFF, 1) as i16, i16::MIN);
    }

    #[test]
    fn bf16_rounds_every_operation() {
        let a = Arith(Format::Bf16);
        let one = bf16_from_f32(1.0);
        let tiny = bf16_from_f32(2f32.powi(-9));
        // 1 + 2^-9 is below half an ulp of 1 (2^-8): each add rounds back to 1, where an f32
        // accumulator would keep growing.
        let mut acc = one;
        for _ in 0..4 {
            acc = a.add(acc, tiny);
        }
        assert_eq!(bf16_to_f32(acc), 1.0);
        assert_eq!(bf16_to_f32(a.mul(bf16_from_f32(1.5), bf16_from_f32(-2.0))), -3.0);
    }
}
