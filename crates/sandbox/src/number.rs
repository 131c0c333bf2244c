//! How the sandbox writes numbers as text: lua_sandbox's `lsb_output_double` (payload output)
//! and its variant for preserved data.
//!
//! Up to 8 fractional digits, trailing zeros removed, no exponent (`1`, `1.2`, `0.33333333`);
//! values above 2147483647 in C's `%.17g`. Heka overflowed an `int` for values at or below
//! −2^31; those are written with `%.17g` too.

/// Appends `d` as `add_to_payload` writes it (`nan`, `inf`, `-inf` for the special values).
pub fn write_output(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
    } else {
        write_finite(d, out);
    }
}

/// Appends `d` as Lua source for preserved data (`0/0`, `1/0`, `-1/0` for the special values).
pub fn write_lua(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"0/0");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"1/0" } else { b"-1/0" });
    } else {
        write_finite(d, out);
    }
}

fn write_finite(d: f64, out: &mut Vec<u8>) {
    // Heka compat: lsb_output_double switches to %.17g above INT_MAX only; below INT_MIN it
    // overflowed (garbage), which we replace with %.17g too.
    if !(-2147483648.0..=2147483647.0).contains(&d) || d == -2147483648.0 {
        out.extend_from_slice(g17(d).as_bytes());
        return;
    }
    let neg = d < 0.0;
    let a = d.abs();
    let mut int_part = a.trunc() as u64;
    let scaled = (a - a.trunc()) * 1e8;
    let mut frac = scaled.trunc() as u64;
    let rest = scaled - scaled.trunc();
    // Heka compat: exactly one half rounds up only when the fraction is 0 or odd.
    if rest > 0.5 || (rest == 0.5 && (frac == 0 || frac & 1 == 1)) {
        frac += 1;
        if frac >= 100_000_000 {
            frac = 0;
            int_part += 1;
        }
    }
    if neg {
        out.push(b'-');
    }
    out.extend_from_slice(int_part.to_string().as_bytes());
    if frac > 0 {
        let digits = format!("{frac:08}");
        out.push(b'.');
        out.extend_from_slice(digits.trim_end_matches('0').as_bytes());
    }
}

/// C's `%.17g`.
pub fn g17(d: f64) -> String {
    const P: i32 = 17;
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let e = format!("{:.*e}", (P - 1) as usize, d);
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..P).contains(&exp) {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (P - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{d:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(d: f64) -> String {
        let mut v = Vec::new();
        write_output(d, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_like_lsb_output_double() {
        assert_eq!(out(1.0), "1");
        assert_eq!(out(1.2), "1.2");
        assert_eq!(out(1.0 / 3.0), "0.33333333");
        assert_eq!(out(0.123456789), "0.12345679");
        assert_eq!(out(1e-9), "0");
        assert_eq!(out(-1e-9), "-0");
        assert_eq!(out(-0.5), "-0.5");
        assert_eq!(out(-0.0), "0");
        assert_eq!(out(3e9), "3000000000");
        assert_eq!(out(1e20), "1e+20");
        assert_eq!(out(f64::NAN), "nan");
        assert_eq!(out(f64::NEG_INFINITY), "-inf");
        assert_eq!(out(0.999999999), "1");
        assert_eq!(out(2147483647.0), "2147483647");
        assert_eq!(out(-3e9), "-3000000000");
        let mut v = Vec::new();
        write_lua(f64::INFINITY, &mut v);
        assert_eq!(v, b"1/0");
    }

    #[test]
    fn g17_matches_c() {
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(1.5e300), "1.5000000000000001e+300");
        assert_eq!(g17(123456789012.0), "123456789012");
        assert_eq!(g17(1e-5), "1.0000000000000001e-05");
    }
}
