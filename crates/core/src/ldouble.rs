//! Exact software emulation of the x87 80-bit `long double` arithmetic that
//! Redis 7.0 uses for `INCRBYFLOAT`.
//!
//! Redis parses both the stored value and the increment with glibc's
//! `strtold` (through `string2ld`), adds them on the x87 FPU (64-bit mantissa,
//! 15-bit exponent, round to nearest, ties to even) and formats the sum with
//! `snprintf("%.17Lf")`, stripping trailing zeros (`ld2string(...,
//! LD_STR_HUMAN)`). To reply byte-identically we reproduce each of those
//! steps exactly: every conversion computes the exact value with big-integer
//! arithmetic and rounds once, the way glibc and the FPU do.

use std::fmt;

use num_bigint::BigUint;

/// Exponent bias of the x87 extended format.
const EXP_BIAS: i64 = 16383;
/// Biased exponent of infinities and NaNs.
const EXP_SPECIAL: u16 = 0x7FFF;
/// Power of two of the mantissa's least significant bit for denormals (and
/// for normals of biased exponent 1): the value is `mantissa * 2^MIN_LSB_EXP`.
const MIN_LSB_EXP: i64 = 1 - EXP_BIAS - 63;
/// The explicit integer bit of a normal mantissa.
const INT_BIT: u64 = 1 << 63;
/// Mantissa of the x87 "real indefinite" quiet NaN.
const NAN_MANTISSA: u64 = 0xC000_0000_0000_0000;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: inputs of this many bytes or more are rejected.
const MAX_INPUT_LEN: usize = 5 * 1024;
/// Saturation bound for parsed exponents; far beyond any value that matters.
const EXP_SATURATION: i64 = 1_000_000_000;
/// Largest power of ten below the largest finite value (about 1.19e4932).
const MAX_DEC_EXP: i64 = 4932;
/// A decimal value below `10^MIN_DEC_EXP` is under half the smallest
/// denormal (about 1.82e-4951) and so rounds to zero.
const MIN_DEC_EXP: i64 = -4952;
/// Digits after the decimal point printed by `%.17Lf`.
const FRAC_DIGITS: usize = 17;
/// `10^FRAC_DIGITS`.
const TEN_POW_FRAC: u128 = 100_000_000_000_000_000;

/// An 80-bit x87 long double value (sign, 15-bit exponent, 64-bit mantissa), emulated exactly.
///
/// Finite values are `mantissa * 2^(max(exponent, 1) - 16383 - 63)`; the
/// mantissa of a normal value has its explicit integer bit (bit 63) set, a
/// denormal has exponent 0 and the bit clear. Exponent `0x7FFF` encodes
/// infinities (mantissa `1 << 63`) and NaNs. Values are always kept in this
/// canonical form, so the derived equality compares encodings: `+0` and `-0`
/// differ, and a NaN equals a NaN with the same encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongDouble {
    negative: bool,
    exponent: u16,
    mantissa: u64,
}

/// Decomposition of a finite value: sign, integer mantissa and the power of
/// two of its least significant bit.
struct Finite {
    negative: bool,
    mantissa: u64,
    exp2: i64,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        exponent: 0,
        mantissa: 0,
    };

    const fn zero(negative: bool) -> LongDouble {
        LongDouble {
            negative,
            exponent: 0,
            mantissa: 0,
        }
    }

    const fn infinity(negative: bool) -> LongDouble {
        LongDouble {
            negative,
            exponent: EXP_SPECIAL,
            mantissa: INT_BIT,
        }
    }

    /// The default NaN the x87 produces for invalid operations (`inf - inf`).
    const fn nan() -> LongDouble {
        LongDouble {
            negative: true,
            exponent: EXP_SPECIAL,
            mantissa: NAN_MANTISSA,
        }
    }

    /// Parses `s` the way Redis's `string2ld` does (glibc `strtold` in the C
    /// locale, which must consume the whole input).
    ///
    /// Accepts an optional sign followed by a decimal number (`1`, `1.`, `.5`,
    /// `-2.5e-3`), a hexadecimal float (`0x10`, `0X1.8P1`, `0x.8`) or
    /// `inf`/`infinity` (any case). Returns `None` for empty input, input of
    /// 5120 bytes or more, input starting with whitespace, anything `strtold`
    /// would not consume entirely, NaN, and finite literals that overflow to
    /// infinity or underflow to zero. The value is rounded to nearest, ties
    /// to even, denormals included.
    #[must_use]
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        let (&first, _) = s.split_first()?;
        if s.len() >= MAX_INPUT_LEN || is_c_space(first) {
            return None;
        }
        let (negative, body) = match first {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::infinity(negative));
        }
        // A NaN (`nan`, `nan(...)`) is rejected by Redis, and every other
        // non-numeric input leaves characters `strtold` does not consume.
        let parsed = match body {
            [b'0', x, rest @ ..] if x.eq_ignore_ascii_case(&b'x') => parse_hex(negative, rest)?,
            _ => parse_decimal(negative, body)?,
        };
        match parsed {
            // Overflow (ERANGE with HUGE_VAL) and underflow to zero (ERANGE
            // with a zero result) are both rejected by `string2ld`.
            Parsed::Value(v) if v.is_finite() => Some(v),
            Parsed::Value(_) | Parsed::Underflow => None,
        }
    }

    /// The nearest `f64` (for uses that need no more than its precision, such
    /// as a timeout): infinities stay infinite, NaN stays NaN.
    #[must_use]
    pub fn to_f64(self) -> f64 {
        let magnitude = if self.exponent == 0x7FFF {
            if self.mantissa << 1 == 0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        } else {
            // value = mantissa * 2^(exponent - 16383 - 63); a zero exponent
            // is a denormal with the smallest normal exponent.
            let e = i32::from(self.exponent.max(1)) - 16383 - 63;
            let half = e / 2;
            (self.mantissa as f64) * 2f64.powi(half) * 2f64.powi(e - half)
        };
        if self.negative { -magnitude } else { magnitude }
    }

    /// Returns the sum `self + other` rounded to nearest (ties to even), as
    /// the x87 `fadd` computes it: overflow gives an infinity, `inf + -inf`
    /// and NaN operands give NaN, and an exact zero sum of non-zero operands
    /// is `+0`.
    #[must_use]
    #[allow(clippy::should_implement_trait)] // `Add` is implemented too; this is the named API.
    pub fn add(self, other: LongDouble) -> LongDouble {
        if self.is_nan() {
            return self.quieted();
        }
        if other.is_nan() {
            return other.quieted();
        }
        match (self.is_infinite(), other.is_infinite()) {
            (true, true) if self.negative != other.negative => return LongDouble::nan(),
            (true, _) => return self,
            (_, true) => return other,
            _ => {}
        }
        let (Some(a), Some(b)) = (self.finite(), other.finite()) else {
            // Unreachable: both operands are finite here.
            return LongDouble::nan();
        };
        match (a.mantissa == 0, b.mantissa == 0) {
            (true, true) => return LongDouble::zero(a.negative && b.negative),
            (true, false) => return other,
            (false, true) => return self,
            (false, false) => {}
        }
        // Order so that `hi` has the larger (or equal) exponent.
        let (hi, lo, hi_value) = if a.exp2 >= b.exp2 {
            (a, b, self)
        } else {
            (b, a, other)
        };
        let shift = hi.exp2 - lo.exp2;
        // `hi` is then normal (a denormal has the minimum exponent), so
        // |hi| >= 2^(hi.exp2 + 63), while |lo| < 2^(lo.exp2 + 64) <=
        // 2^(hi.exp2 - 63): less than a quarter of the smallest gap around
        // `hi`, so the rounded sum is `hi` itself.
        if shift > 126 {
            return hi_value;
        }
        // Up to a shift of 63 the exact sum fits in a u128.
        if shift <= 63 {
            let big = u128::from(hi.mantissa) << shift;
            let small = u128::from(lo.mantissa);
            let (negative, magnitude) = if hi.negative == lo.negative {
                (hi.negative, big + small)
            } else if big >= small {
                (hi.negative, big - small)
            } else {
                (lo.negative, small - big)
            };
            if magnitude == 0 {
                return LongDouble::ZERO;
            }
            return round_u128(negative, magnitude, lo.exp2, false);
        }
        // 63 < shift <= 126: work at the scale 2^(hi.exp2 - 63), keeping the
        // truncated bits of `lo` as a sticky bit. `hi` fits in 127 bits and
        // the result keeps at least 126 significant bits, far more than the
        // 64 + 2 that correct rounding needs.
        let drop = shift - 63;
        let big = u128::from(hi.mantissa) << 63;
        let small = u128::from(lo.mantissa >> drop);
        let sticky = lo.mantissa & ((1u64 << drop) - 1) != 0;
        let exp2 = hi.exp2 - 63;
        if hi.negative == lo.negative {
            round_u128(hi.negative, big + small, exp2, sticky)
        } else if sticky {
            // big - (small + fraction) = (big - small - 1) + (1 - fraction).
            round_u128(hi.negative, big - small - 1, exp2, true)
        } else {
            round_u128(hi.negative, big - small, exp2, false)
        }
    }

    /// Returns `true` unless the value is an infinity or a NaN.
    #[must_use]
    pub fn is_finite(self) -> bool {
        self.exponent != EXP_SPECIAL
    }

    /// Returns `true` if the value is positive or negative infinity.
    #[must_use]
    pub fn is_infinite(self) -> bool {
        self.exponent == EXP_SPECIAL && self.mantissa == INT_BIT
    }

    /// Returns `true` if the value is a NaN.
    #[must_use]
    pub fn is_nan(self) -> bool {
        self.exponent == EXP_SPECIAL && self.mantissa != INT_BIT
    }

    /// Formats the value as Redis's `ld2string(..., LD_STR_HUMAN)` does.
    ///
    /// Finite values are printed like `snprintf("%.17Lf")` (the exact value
    /// correctly rounded, ties to even, to 17 digits after the point), then
    /// trailing zeros and a trailing point are removed and `-0` becomes `0`.
    /// Infinities are `inf` / `-inf` and NaNs `nan`.
    #[must_use]
    pub fn to_human_string(self) -> String {
        let Some(f) = self.finite() else {
            return if self.is_nan() {
                "nan".to_owned()
            } else if self.negative {
                "-inf".to_owned()
            } else {
                "inf".to_owned()
            };
        };
        let mut out = String::new();
        if f.negative {
            out.push('-');
        }
        if f.exp2 >= 0 {
            // An integer: "%.17Lf" prints ".00000000000000000", all stripped.
            let int = BigUint::from(f.mantissa) << f.exp2.unsigned_abs();
            out.push_str(&int.to_string());
        } else {
            // Scaled value mantissa * 10^17 * 2^exp2, rounded to an integer.
            // mantissa * 10^17 < 2^64 * 2^57 fits in u128.
            let scaled = u128::from(f.mantissa) * TEN_POW_FRAC;
            let shift = f.exp2.unsigned_abs();
            let rounded = if shift >= 128 {
                // scaled < 2^121 <= half of 2^shift: rounds to zero.
                0
            } else {
                let q = scaled >> shift;
                let rem = scaled & ((1u128 << shift) - 1);
                let half = 1u128 << (shift - 1);
                if rem > half || (rem == half && q & 1 == 1) {
                    q + 1
                } else {
                    q
                }
            };
            let int_part = rounded / TEN_POW_FRAC;
            let frac_part = rounded % TEN_POW_FRAC;
            out.push_str(&int_part.to_string());
            if frac_part != 0 {
                let digits = format!("{frac_part:0FRAC_DIGITS$}");
                out.push('.');
                out.push_str(digits.trim_end_matches('0'));
            }
        }
        if out == "-0" {
            out.remove(0);
        }
        out
    }

    fn quieted(self) -> LongDouble {
        LongDouble {
            mantissa: self.mantissa | NAN_MANTISSA,
            ..self
        }
    }

    fn finite(self) -> Option<Finite> {
        if !self.is_finite() {
            return None;
        }
        Some(Finite {
            negative: self.negative,
            mantissa: self.mantissa,
            exp2: i64::from(self.exponent.max(1)) - EXP_BIAS - 63,
        })
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// Same as [`LongDouble::add`].
    fn add(self, other: LongDouble) -> LongDouble {
        LongDouble::add(self, other)
    }
}

impl Default for LongDouble {
    fn default() -> LongDouble {
        LongDouble::ZERO
    }
}

/// Why `INCRBYFLOAT` failed. `Display` gives the full Redis error text,
/// including the `ERR ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value or the increment is not a valid float
    /// (`ERR value is not a valid float`).
    NotAFloat,
    /// The sum is NaN or infinite (`ERR increment would produce NaN or Infinity`).
    NanOrInfinity,
}

impl fmt::Display for IncrFloatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IncrFloatError::NotAFloat => "ERR value is not a valid float",
            IncrFloatError::NanOrInfinity => "ERR increment would produce NaN or Infinity",
        })
    }
}

impl std::error::Error for IncrFloatError {}

/// Computes Redis 7.0's `INCRBYFLOAT`: parses the current value (`None`, an
/// absent key, counts as 0) and the increment, adds them in long double
/// arithmetic and returns the formatted sum, which is both the reply and the
/// new value to store.
///
/// # Errors
///
/// [`IncrFloatError::NotAFloat`] if either string does not parse (the
/// current value is checked first), [`IncrFloatError::NanOrInfinity`] if the
/// sum is NaN or infinite.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<String, IncrFloatError> {
    let value = match current {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(s).ok_or(IncrFloatError::NotAFloat)?,
    };
    let incr = LongDouble::parse(incr).ok_or(IncrFloatError::NotAFloat)?;
    let sum = value.add(incr);
    if sum.is_finite() {
        Ok(sum.to_human_string())
    } else {
        Err(IncrFloatError::NanOrInfinity)
    }
}

/// C `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Result of converting a well-formed numeric literal.
enum Parsed {
    /// The correctly rounded value (possibly infinite on overflow).
    Value(LongDouble),
    /// A non-zero literal that rounds to zero (`strtold` sets ERANGE).
    Underflow,
}

/// Parses an optionally signed run of decimal digits (an exponent) and
/// returns its value saturated to `±EXP_SATURATION`; `None` if there is no
/// digit or anything follows the digits.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + i64::from(d - b'0')).min(EXP_SATURATION)
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Splits a mantissa `int[.frac]` (digits recognised by `is_digit`) off the
/// front of `s`. Returns the significant digits (leading zeros dropped, as
/// digit values), the number of digits after the point, and the rest of the
/// input; `None` if the mantissa has no digit at all.
fn split_mantissa(s: &[u8], radix: u32) -> Option<(Vec<u8>, i64, &[u8])> {
    let mut digits = Vec::new();
    let mut frac_len: i64 = 0;
    let mut any_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = char::from(c).to_digit(radix) {
            any_digit = true;
            if seen_point {
                frac_len += 1;
            }
            if d != 0 || !digits.is_empty() {
                // `to_digit` returns values below the radix (at most 16).
                digits.push(d as u8);
            }
        } else {
            break;
        }
        i += 1;
    }
    any_digit.then(|| (digits, frac_len, &s[i..]))
}

/// Parses the part of a hexadecimal float after `0x`: hex digits with an
/// optional point and an optional binary exponent `p[+-]digits`. `None` if
/// it is malformed or does not span the whole input.
fn parse_hex(negative: bool, s: &[u8]) -> Option<Parsed> {
    let (digits, frac_len, rest) = split_mantissa(s, 16)?;
    let exp = match rest.split_first() {
        None => 0,
        Some((p, exp)) if p.eq_ignore_ascii_case(&b'p') => parse_exponent(exp)?,
        Some(_) => return None,
    };
    if digits.is_empty() {
        return Some(Parsed::Value(LongDouble::zero(negative)));
    }
    let mag = BigUint::from_radix_be(&digits, 16)?;
    Some(round_nonzero(negative, &mag, exp - 4 * frac_len, false))
}

/// Parses a decimal float `int[.frac][e[+-]digits]`; `None` if it is
/// malformed or does not span the whole input.
fn parse_decimal(negative: bool, s: &[u8]) -> Option<Parsed> {
    let (mut digits, frac_len, rest) = split_mantissa(s, 10)?;
    let exp = match rest.split_first() {
        None => 0,
        Some((e, exp)) if e.eq_ignore_ascii_case(&b'e') => parse_exponent(exp)?,
        Some(_) => return None,
    };
    // Trailing zeros only scale the value; folding them into the exponent
    // keeps the big numbers small.
    let trailing = digits.iter().rev().take_while(|&&d| d == 0).count();
    digits.truncate(digits.len() - trailing);
    if digits.is_empty() {
        return Some(Parsed::Value(LongDouble::zero(negative)));
    }
    // Lengths are below MAX_INPUT_LEN, so these conversions cannot fail.
    let count = i64::try_from(digits.len()).ok()?;
    let exp10 = exp - frac_len + i64::try_from(trailing).ok()?;
    // The value lies in [10^(count - 1 + exp10), 10^(count + exp10)).
    if count - 1 + exp10 > MAX_DEC_EXP {
        return Some(Parsed::Value(LongDouble::infinity(negative)));
    }
    if count + exp10 < MIN_DEC_EXP {
        return Some(Parsed::Underflow);
    }
    let mantissa = BigUint::from_radix_be(&digits, 10)?;
    let pow = |e: i64| u32::try_from(e).ok().map(|e| BigUint::from(10u32).pow(e));
    if exp10 >= 0 {
        let mag = mantissa * pow(exp10)?;
        return Some(round_nonzero(negative, &mag, 0, false));
    }
    // value = mantissa / 10^n: divide after scaling by 2^k so that the
    // quotient has at least 66 significant bits; the remainder becomes the
    // sticky bit.
    let divisor = pow(-exp10)?;
    let k =
        (66 + i64::try_from(divisor.bits()).ok()? - i64::try_from(mantissa.bits()).ok()?).max(0);
    let scaled = mantissa << k.unsigned_abs();
    let quotient = &scaled / &divisor;
    let exact = &quotient * &divisor == scaled;
    Some(round_nonzero(negative, &quotient, -k, !exact))
}

/// Rounds a non-zero literal's value (see [`round_big`]) and reports an
/// underflow if it rounds to zero.
fn round_nonzero(negative: bool, mag: &BigUint, exp2: i64, sticky: bool) -> Parsed {
    let v = round_big(negative, mag, exp2, sticky);
    if v.mantissa == 0 && v.exponent == 0 {
        Parsed::Underflow
    } else {
        Parsed::Value(v)
    }
}

/// Rounds `±(mag + f) * 2^exp2` to the nearest long double (ties to even),
/// where `0 <= f < 1` and `f > 0` exactly when `sticky` is set (then `mag`
/// must have at least 65 significant bits).
fn round_big(negative: bool, mag: &BigUint, exp2: i64, sticky: bool) -> LongDouble {
    let bits = mag.bits();
    if bits <= 128 {
        return round_u128(negative, low_u128(mag), exp2, sticky);
    }
    // Keep the top 128 bits and fold the dropped ones into the sticky bit:
    // the rounding bit is at most 64 bits below the leading one, so every
    // dropped bit lies below it and only its being non-zero matters.
    let drop = bits - 128;
    let dropped_nonzero = mag.trailing_zeros().is_some_and(|tz| tz < drop);
    let exp2 = exp2.saturating_add(i64::try_from(drop).unwrap_or(i64::MAX));
    round_u128(
        negative,
        low_u128(&(mag >> drop)),
        exp2,
        sticky || dropped_nonzero,
    )
}

/// The low 128 bits of `n`.
fn low_u128(n: &BigUint) -> u128 {
    let mut digits = n.iter_u64_digits();
    let lo = digits.next().unwrap_or(0);
    let hi = digits.next().unwrap_or(0);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// Rounds `±(mag + f) * 2^exp2` to the nearest long double (ties to even),
/// where `0 <= f < 1` and `f > 0` exactly when `sticky` is set.
///
/// When `sticky` is set, `mag` must have at least 65 significant bits, so
/// that the fraction `f` lies entirely below the rounding bit (every caller
/// provides 66 or more).
fn round_u128(negative: bool, mag: u128, exp2: i64, sticky: bool) -> LongDouble {
    if mag == 0 {
        return LongDouble::zero(negative);
    }
    let bits = i64::from(128 - mag.leading_zeros());
    debug_assert!(!sticky || bits >= 65, "sticky rounding needs 65 bits");
    let top = bits - 1 + exp2;
    if top > EXP_BIAS {
        return LongDouble::infinity(negative);
    }
    let mut lsb = (top - 63).max(MIN_LSB_EXP);
    let shift = lsb - exp2;
    let mantissa = if shift <= 0 {
        // Exact: the value has at most 64 significant bits, and `mag` fits
        // in 64 bits after the shift.
        (mag << shift.unsigned_abs()) as u64
    } else if shift > bits {
        // Below half of the least significant bit: rounds to zero.
        0
    } else {
        // 1 <= shift <= bits <= 128.
        let shift = shift.unsigned_abs() as u32;
        let kept = mag.checked_shr(shift).unwrap_or(0);
        let round_bit = (mag >> (shift - 1)) & 1 == 1;
        let below = sticky || mag & ((1u128 << (shift - 1)) - 1) != 0;
        // `kept` has at most 64 bits by the choice of `lsb`.
        let kept = kept as u64;
        if round_bit && (below || kept & 1 == 1) {
            match kept.checked_add(1) {
                Some(m) => m,
                None => {
                    lsb += 1;
                    INT_BIT
                }
            }
        } else {
            kept
        }
    };
    if mantissa == 0 {
        return LongDouble::zero(negative);
    }
    if mantissa < INT_BIT {
        // A denormal: only possible at the minimum exponent.
        return LongDouble {
            negative,
            exponent: 0,
            mantissa,
        };
    }
    let biased = lsb + 63 + EXP_BIAS;
    match u16::try_from(biased) {
        Ok(exponent) if exponent < EXP_SPECIAL => LongDouble {
            negative,
            exponent,
            mantissa,
        },
        _ => LongDouble::infinity(negative),
    }
}

#[cfg(test)]
mod tests;
