//! The scalar types the engine runs on: `f32` for speed, `f64` for gradient checks and golden values.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type of the engine.
///
/// The `f32` transcendental functions are branch-free polynomial approximations (Cephes style)
/// so that gate loops vectorise; their error against `f64` is below 3e-7 absolute (tested in
/// `kernels::real::tests`). `f64` uses the standard library, so gradient checks are exact to
/// round-off.
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + super::gemm::GemmScalar
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The type's name as safetensors spells it ("F32", "F64").
    const NAME: &'static str;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Absolute value.
    fn abs(self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// The logistic function 1 / (1 + e^-x).
    #[inline(always)]
    fn sigmoid(self) -> Self {
        Self::ONE / (Self::ONE + (-self).exp())
    }
    /// -1, 0 or 1 (0 for 0 and NaN).
    #[inline(always)]
    fn signum_or_zero(self) -> Self {
        if self > Self::ZERO {
            Self::ONE
        } else if self < Self::ZERO {
            -Self::ONE
        } else {
            Self::ZERO
        }
    }
    /// Bit `l` set when `|delta[l]| >= threshold` (the delta encoder's fire test), inside a
    /// lane body of lane count `W` (`simd::dispatch!`); `f32` uses one vector compare.
    #[inline(always)]
    fn fire_bits8<const W: usize>(delta: [Self; 8], threshold: Self) -> u32 {
        fire_bits8_scalar(delta, threshold)
    }
    /// Converts from `f32` (exact).
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        Self::from_f64(f64::from(x))
    }
    /// Converts to `f32` (rounding for `f64`).
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
}

/// [`Real::fire_bits8`] one entry at a time: the default, and the fallback of `f32`'s vector
/// compare outside the AVX2 and AVX-512 copies.
#[inline(always)]
pub(crate) fn fire_bits8_scalar<T: Real>(delta: [T; 8], threshold: T) -> u32 {
    let mut bits = 0;
    for (l, d) in delta.iter().enumerate() {
        bits |= u32::from(d.abs() >= threshold) << l;
    }
    bits
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAME: &'static str = "F64";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAME: &'static str = "F32";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        tanh_f32(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        sigmoid_f32(self)
    }
    #[inline(always)]
    fn fire_bits8<const W: usize>(delta: [Self; 8], threshold: Self) -> u32 {
        super::simd::fire_bits_f32::<W>(delta, threshold)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f32::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

/// e^x for `f32`: range reduction x = n ln2 + r with n rounded to nearest, a degree-6 polynomial
/// for e^r (Cephes `expf`), and 2^n built from the exponent bits. Inputs are clamped to
/// [-87.3, 88.3], so the result is finite and normal for every finite input; NaN stays NaN.
/// Written without branches or float-to-int casts so loops over it vectorise.
#[allow(clippy::excessive_precision)] // The published coefficients, kept digit for digit.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons are false for NaN, so NaN passes through both clamps.
    let x = if x < -87.3 { -87.3 } else { x };
    let x = if x > 88.3 { 88.3 } else { x };
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Fused multiply-adds: one rounding each, the same bits from the FMA instruction (AVX2+FMA
    // build) and from the correctly rounded software fma (baseline build).
    let mut p = 1.987_569_1e-4_f32;
    p = p.mul_add(r, 1.398_2e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 5.000_000_1e-1);
    let er = (p * r).mul_add(r, r) + 1.0;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()); // n as a two's-complement integer
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    er * scale
}

/// tanh for `f32`: a (13, 6) rational minimax approximation on [-7.9, 7.9] (the form Eigen
/// uses for float tanh), clamped outside. About 14 vector operations and no exp; absolute error
/// below 4e-7 everywhere (tested). Branch-free, so loops over it vectorise.
#[allow(clippy::excessive_precision)] // Published coefficients, kept digit for digit.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    const LIMIT: f32 = 7.905_311_107_635_498;
    // Comparisons are false for NaN, so NaN passes through both clamps.
    let x = if x < -LIMIT { -LIMIT } else { x };
    let x = if x > LIMIT { LIMIT } else { x };
    let x2 = x * x;
    let mut p = -2.760_768_477_423_55e-16_f32;
    p = p.mul_add(x2, 2.000_187_904_824_77e-13);
    p = p.mul_add(x2, -8.604_671_522_137_35e-11);
    p = p.mul_add(x2, 5.122_297_090_371_14e-8);
    p = p.mul_add(x2, 1.485_722_357_179_79e-5);
    p = p.mul_add(x2, 6.372_619_288_754_36e-4);
    p = p.mul_add(x2, 4.893_524_558_917_86e-3);
    let mut q = 1.198_258_394_667_02e-6_f32;
    q = q.mul_add(x2, 1.185_347_056_866_54e-4);
    q = q.mul_add(x2, 2.268_434_632_439_00e-3);
    q = q.mul_add(x2, 4.893_525_185_543_85e-3);
    x * p / q
}

/// The logistic function for `f32` through [`tanh_f32`]: 1/(1 + e^-x) = (1 + tanh(x/2)) / 2.
/// Absolute error below 2e-7 (tested).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    tanh_f32(0.5 * x).mul_add(0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep() -> impl Iterator<Item = f32> {
        (-20_000..=20_000).map(|i| i as f32 * 1e-3).chain([-100.0, 100.0, 88.0, -88.0, 0.0, -0.0])
    }

    #[test]
    fn exp_f32_is_accurate() {
        for x in sweep() {
            let exact = f64::from(x).exp();
            let got = f64::from(exp_f32(x));
            if x.abs() < 80.0 {
                assert!(((got - exact) / exact).abs() < 3e-7, "exp({x}): {got} vs {exact}");
            }
            assert!(got.is_finite() && got > 0.0, "exp({x}) = {got}");
        }
        assert!(exp_f32(f32::NAN).is_nan());
    }

    /// Every 61st f32 bit pattern of both signs up to `limit` (about 35 million of the 2.1
    /// billion finite values below 88), so the stated bounds hold over the whole range that
    /// reaches the functions, not only on a grid.
    fn every_61st_float(limit: f32) -> impl Iterator<Item = f32> {
        (0..limit.to_bits()).step_by(61).flat_map(|bits| [f32::from_bits(bits), -f32::from_bits(bits)])
    }

    #[test]
    fn the_stated_error_bounds_hold_over_the_whole_float_range() {
        let (mut tanh_error, mut sigmoid_error, mut exp_error) = (0.0f64, 0.0f64, 0.0f64);
        for x in every_61st_float(88.0) {
            let xd = f64::from(x);
            tanh_error = tanh_error.max((f64::from(tanh_f32(x)) - xd.tanh()).abs());
            sigmoid_error = sigmoid_error.max((f64::from(sigmoid_f32(x)) - 1.0 / (1.0 + (-xd).exp())).abs());
            if x.abs() < 80.0 {
                let exact = xd.exp();
                exp_error = exp_error.max(((f64::from(exp_f32(x)) - exact) / exact).abs());
            }
        }
        eprintln!(
            "largest errors against f64: tanh {tanh_error:e}, sigmoid {sigmoid_error:e}, exp {exp_error:e} (relative)"
        );
        assert!(tanh_error < 4e-7, "tanh: largest absolute error {tanh_error:e}");
        assert!(sigmoid_error < 2e-7, "sigmoid: largest absolute error {sigmoid_error:e}");
        assert!(exp_error < 3e-7, "exp: largest relative error {exp_error:e}");
    }

    #[test]
    fn tanh_and_sigmoid_f32_are_accurate() {
        for x in sweep() {
            let xd = f64::from(x);
            let t = f64::from(tanh_f32(x));
            assert!((t - xd.tanh()).abs() < 4e-7, "tanh({x}): {t} vs {}", xd.tanh());
            let s = f64::from(x.sigmoid());
            let exact = 1.0 / (1.0 + (-xd).exp());
            assert!((s - exact).abs() < 2e-7, "sigmoid({x}): {s} vs {exact}");
        }
        assert_eq!(tanh_f32(0.0), 0.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert!((tanh_f32(100.0) - 1.0).abs() < 4e-7 && (tanh_f32(-100.0) + 1.0).abs() < 4e-7);
    }
}
