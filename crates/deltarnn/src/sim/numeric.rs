//! The accelerator's two 16-bit number formats and their arithmetic, bit for bit.
//!
//! **BF16** (`Format::Bf16`): 1 sign, 8 exponent, 7 fraction bits (the top half of an f32).
//! Conversion from f32 rounds to nearest, ties to even ([`bf16_from_f32`]); NaN stays a quiet NaN,
//! overflow goes to infinity. A MAC multiplies two BF16 words into an f32 (exact: 8 x 8
//! significand bits fit in 24) and accumulates in an f32 register (IEEE add, round to nearest
//! even). A result leaves the accumulator rounded to BF16.
//!
//! **FXP16** (`Format::Fxp16`): 16-bit two's complement with a per-tensor number of fraction bits
//! f (Q(15-f).f, f in 0..=[`MAX_FRAC_BITS`]), chosen from the tensor's largest magnitude so that
//! nothing saturates ([`frac_bits_for`]). Quantisation rounds to nearest even and saturates. A
//! MAC multiplies two words into an exact 32-bit product with fa + fb fraction bits and
//! accumulates in a [`ACC_BITS`]-bit register that saturates on every add. A result leaves the
//! accumulator shifted to its tensor's fraction bits, rounding to nearest even, saturating to 16
//! bits.

/// Width of the FXP16 accumulator register, bits (8 guard bits over a 32-bit product).
pub const ACC_BITS: u32 = 40;
/// Largest FXP16 accumulator value.
pub const ACC_MAX: i64 = (1 << (ACC_BITS - 1)) - 1;
/// Smallest FXP16 accumulator value.
pub const ACC_MIN: i64 = -(1 << (ACC_BITS - 1));
/// Most fraction bits a FXP16 tensor may use.
pub const MAX_FRAC_BITS: u8 = 24;

/// The datapath's number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// bfloat16 words, f32 accumulators.
    Bf16,
    /// 16-bit fixed point with per-tensor fraction bits, 40-bit saturating accumulators.
    Fxp16,
}

impl Format {
    /// "bf16" or "fxp16".
    pub fn name(self) -> &'static str {
        match self {
            Format::Bf16 => "bf16",
            Format::Fxp16 => "fxp16",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "bf16" => Ok(Format::Bf16),
            "fxp16" => Ok(Format::Fxp16),
            other => Err(crate::Error::Invalid(format!("unknown number format '{other}', expected bf16 or fxp16"))),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// f32 to BF16 bits, rounding to nearest with ties to even; NaN stays NaN (quiet), values past
/// the largest BF16 round to infinity.
pub fn bf16_from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040;
    }
    // Adding 0x7FFF plus the kept part's lowest bit rounds half-way cases to the even neighbour;
    // a carry out of the fraction correctly bumps the exponent (up to infinity).
    let lsb = (bits >> 16) & 1;
    (bits.wrapping_add(0x7FFF + lsb) >> 16) as u16
}

/// BF16 bits to f32 (exact).
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// The most fraction bits (at most [`MAX_FRAC_BITS`]) with which `max_abs` still fits in 16
/// signed bits after rounding; 0 when even that saturates.
pub fn frac_bits_for(max_abs: f64) -> u8 {
    (0..=MAX_FRAC_BITS).rev().find(|&f| (max_abs * f64::from(1u32 << f)).round_ties_even() <= 32767.0).unwrap_or(0)
}

/// `x` as a FXP16 word with `frac` fraction bits: round to nearest even, saturate.
pub fn fxp_from_f64(x: f64, frac: u8) -> i16 {
    if x.is_nan() {
        return 0;
    }
    (x * f64::from(1u32 << frac)).round_ties_even().clamp(-32768.0, 32767.0) as i16
}

/// A FXP16 word with `frac` fraction bits as f64 (exact).
pub fn fxp_to_f64(w: i16, frac: u8) -> f64 {
    f64::from(w) / f64::from(1u32 << frac)
}

/// Clamps to the accumulator's range.
pub fn saturate_acc(x: i128) -> i64 {
    x.clamp(i128::from(ACC_MIN), i128::from(ACC_MAX)) as i64
}

/// `x / 2^shift` rounded to nearest, ties to even (arithmetic, exact in i128).
pub fn round_shift_right(x: i128, shift: u32) -> i128 {
    if shift == 0 {
        return x;
    }
    if shift >= 127 {
        return 0;
    }
    let q = x >> shift; // floor
    let rem = x - (q << shift);
    let half = 1i128 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// An accumulator value with `from` fraction bits moved to `to` fraction bits: right shifts
/// round to nearest even, left shifts are exact; the caller saturates.
pub fn rescale(x: i128, from: i32, to: i32) -> i128 {
    if from >= to {
        round_shift_right(x, (from - to) as u32)
    } else {
        let shift = (to - from) as u32;
        if shift >= 80 {
            // Past any accumulator range: only the sign survives saturation.
            x.signum() << 80
        } else {
            x << shift
        }
    }
}

/// How one tensor's words are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    /// BF16 bits.
    Bf16,
    /// FXP16 with this many fraction bits.
    Fixed {
        /// Fraction bits.
        frac_bits: u8,
    },
}

impl Encoding {
    /// The encoding of a tensor of `format` whose largest magnitude is `max_abs`.
    pub fn for_range(format: Format, max_abs: f64) -> Self {
        match format {
            Format::Bf16 => Encoding::Bf16,
            Format::Fxp16 => Encoding::Fixed { frac_bits: frac_bits_for(max_abs) },
        }
    }

    /// `x` as a word of this encoding.
    pub fn encode(self, x: f64) -> u16 {
        match self {
            // Through f32 first, as the engine holds it; f64 -> f32 -> bf16 double rounding is
            // what a BF16 device fed by the f32 engine sees.
            Encoding::Bf16 => bf16_from_f32(x as f32),
            Encoding::Fixed { frac_bits } => fxp_from_f64(x, frac_bits) as u16,
        }
    }

    /// The value of a word of this encoding.
    pub fn decode(self, w: u16) -> f64 {
        match self {
            Encoding::Bf16 => f64::from(bf16_to_f32(w)),
            Encoding::Fixed { frac_bits } => fxp_to_f64(w as i16, frac_bits),
        }
    }

    /// Half a unit in the last place at magnitude `x` for BF16 (relative 2^-8), or half a step
    /// 2^-(f+1) for FXP16: the largest rounding error of [`Encoding::encode`] at `x` (ignoring
    /// saturation and the f64 -> f32 step, whose 2^-24 relative error is added by callers).
    pub fn half_ulp(self, x: f64) -> f64 {
        match self {
            Encoding::Bf16 => x.abs() * 2f64.powi(-8),
            Encoding::Fixed { frac_bits } => 2f64.powi(-(i32::from(frac_bits) + 1)),
        }
    }
}

/// A tensor as the accelerator stores it: 16-bit words and their encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// How to read `words`.
    pub encoding: Encoding,
    /// The words.
    pub words: Vec<u16>,
}

impl Quantized {
    /// Quantises `values` in `format`, the FXP16 fraction bits chosen from their largest
    /// magnitude (or from `range` when given, for tensors quantised piece by piece).
    pub fn new(format: Format, values: &[f64], range: Option<f64>) -> Self {
        let max_abs = range.unwrap_or_else(|| values.iter().fold(0.0f64, |m, v| m.max(v.abs())));
        let encoding = Encoding::for_range(format, max_abs);
        Quantized { encoding, words: values.iter().map(|&v| encoding.encode(v)).collect() }
    }

    /// The values the words stand for.
    pub fn decode(&self) -> Vec<f64> {
        self.words.iter().map(|&w| self.encoding.decode(w)).collect()
    }
}

/// One datapath's arithmetic: exact products, a wide accumulator, rounding on the way out.
pub trait Arith {
    /// The accumulator register.
    type Acc: Copy + PartialEq + std::fmt::Debug;
    /// A cleared accumulator.
    fn zero(&self) -> Self::Acc;
    /// The product of a word of the first operand's encoding and one of the second's.
    fn mul(&self, a: u16, b: u16) -> Self::Acc;
    /// One accumulator add (f32 round to nearest even, or saturating fixed point).
    fn add(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// A stored word of `encoding` brought into the accumulator (exact unless it saturates).
    fn widen(&self, word: u16, encoding: Encoding) -> Self::Acc;
    /// The accumulator rounded to a word of `encoding`.
    fn narrow(&self, acc: Self::Acc, encoding: Encoding) -> u16;
}

/// BF16 words, f32 accumulator.
#[derive(Debug, Clone, Copy)]
pub struct Bf16Arith;

impl Arith for Bf16Arith {
    type Acc = f32;
    fn zero(&self) -> f32 {
        0.0
    }
    fn mul(&self, a: u16, b: u16) -> f32 {
        bf16_to_f32(a) * bf16_to_f32(b)
    }
    fn add(&self, a: f32, b: f32) -> f32 {
        a + b
    }
    fn widen(&self, word: u16, _: Encoding) -> f32 {
        bf16_to_f32(word)
    }
    fn narrow(&self, acc: f32, _: Encoding) -> u16 {
        bf16_from_f32(acc)
    }
}

/// FXP16 words, 40-bit saturating accumulator with `product_frac` fraction bits (the sum of the
/// two operands' fraction bits).
#[derive(Debug, Clone, Copy)]
pub struct FixedArith {
    /// Fraction bits of a product and of the accumulator.
    pub product_frac: i32,
}

impl FixedArith {
    /// The arithmetic of products of an `a` word and a `b` word.
    pub fn new(a: Encoding, b: Encoding) -> Self {
        FixedArith { product_frac: frac_of(a) + frac_of(b) }
    }
}

fn frac_of(e: Encoding) -> i32 {
    match e {
        Encoding::Fixed { frac_bits } => i32::from(frac_bits),
        Encoding::Bf16 => 0,
    }
}

impl Arith for FixedArith {
    type Acc = i64;
    fn zero(&self) -> i64 {
        0
    }
    fn mul(&self, a: u16, b: u16) -> i64 {
        i64::from(a as i16) * i64::from(b as i16)
    }
    fn add(&self, a: i64, b: i64) -> i64 {
        saturate_acc(i128::from(a) + i128::from(b))
    }
    fn widen(&self, word: u16, encoding: Encoding) -> i64 {
        saturate_acc(rescale(i128::from(word as i16), frac_of(encoding), self.product_frac))
    }
    fn narrow(&self, acc: i64, encoding: Encoding) -> u16 {
        let v = rescale(i128::from(acc), self.product_frac, frac_of(encoding));
        v.clamp(-32768, 32767) as i16 as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// BF16 rounding written differently: the two BF16 neighbours of x, the nearer by f64
    /// distance, ties to the even one.
    fn bf16_by_neighbours(x: f32) -> u16 {
        let bits = x.to_bits();
        let low = (bits >> 16) as u16; // truncation: toward zero in magnitude
        let high = low.wrapping_add(1); // next one away from zero
        let (dl, dh) =
            ((f64::from(x) - f64::from(bf16_to_f32(low))).abs(), (f64::from(bf16_to_f32(high)) - f64::from(x)).abs());
        if bits & 0xFFFF == 0 || dl < dh {
            low
        } else if dh < dl {
            high
        } else if low & 1 == 0 {
            low
        } else {
            high
        }
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16_from_f32(1.0), 0x3F80);
        assert_eq!(bf16_from_f32(-2.0), 0xC000);
        // 1 + 2^-8 is half-way between 1 and 1 + 2^-7: ties to even (1.0).
        assert_eq!(bf16_from_f32(1.0 + 2f32.powi(-8)), 0x3F80);
        // 1 + 3 * 2^-8 is half-way between 1 + 2^-7 (odd) and 1 + 2^-6: goes up to even.
        assert_eq!(bf16_from_f32(1.0 + 3.0 * 2f32.powi(-8)), 0x3F82);
        assert_eq!(bf16_from_f32(f32::MAX), 0x7F80, "overflow rounds to infinity");
        assert_eq!(bf16_from_f32(f32::NEG_INFINITY), 0xFF80);
        assert!(bf16_to_f32(bf16_from_f32(f32::NAN)).is_nan());
        assert_eq!(bf16_from_f32(-0.0), 0x8000);
        let mut rng = Rng::seed(11);
        for _ in 0..200_000 {
            let x = f32::from_bits(rng.next_u64() as u32);
            if x.is_nan() || x.is_infinite() {
                continue;
            }
            let near_max = x.abs() > bf16_to_f32(0x7F7F);
            if near_max {
                continue; // the neighbour model has no infinity; covered above
            }
            assert_eq!(bf16_from_f32(x), bf16_by_neighbours(x), "{x:e} bits {:#x}", x.to_bits());
        }
    }

    #[test]
    fn fixed_point_rounds_to_nearest_even_and_saturates() {
        assert_eq!(fxp_from_f64(0.5, 8), 128);
        assert_eq!(fxp_from_f64(1.5 / 256.0, 8), 2, "1.5 ulp ties to even 2");
        assert_eq!(fxp_from_f64(2.5 / 256.0, 8), 2, "2.5 ulp ties to even 2");
        assert_eq!(fxp_from_f64(1000.0, 8), 32767);
        assert_eq!(fxp_from_f64(-1000.0, 8), -32768);
        assert_eq!(round_shift_right(5, 1), 2); // 2.5 -> 2
        assert_eq!(round_shift_right(7, 1), 4); // 3.5 -> 4
        assert_eq!(round_shift_right(-5, 1), -2); // -2.5 -> -2
        assert_eq!(round_shift_right(-7, 1), -4);
        assert_eq!(round_shift_right(-6, 2), -2); // -1.5 -> -2
        assert_eq!(frac_bits_for(1.0), 14);
        assert_eq!(frac_bits_for(0.99), 15);
        assert_eq!(frac_bits_for(0.0), MAX_FRAC_BITS);
        assert_eq!(frac_bits_for(1e9), 0);
        let arith = FixedArith { product_frac: 16 };
        assert_eq!(arith.add(ACC_MAX, 1), ACC_MAX, "the accumulator saturates");
        assert_eq!(arith.add(ACC_MIN, -1), ACC_MIN);
        assert_eq!(arith.narrow(1 << 30, Encoding::Fixed { frac_bits: 8 }), 32767);
        assert_eq!(arith.narrow(3 << 7, Encoding::Fixed { frac_bits: 8 }), 2, "1.5 -> 2");
    }
}
