//! The times of access logs, read as `date_time.lua`'s grammars read them and turned into
//! nanoseconds by its `time_to_ns`, with the same double arithmetic in the same order (so the
//! rounding of times past 2^53 ns is the same).

fn lit(s: &[u8], i: usize, l: &[u8]) -> Option<usize> {
    s.get(i..)?.starts_with(l).then_some(i + l.len())
}

fn d(s: &[u8], i: usize) -> Option<i64> {
    s.get(i)
        .filter(|b| b.is_ascii_digit())
        .map(|b| i64::from(b - b'0'))
}

/// A two-digit number whose first digit is in `first` and whose whole value is `<= max`, as
/// `date_time`'s alternations of ranges (`R"01" * digit + P"2" * R"03"` …) read them.
fn two(s: &[u8], i: usize, min: i64, max: i64) -> Option<(usize, i64)> {
    let v = d(s, i)? * 10 + d(s, i + 1)?;
    (min..=max).contains(&v).then_some((i + 2, v))
}

/// `date_mday`: `01`–`31`.
fn mday(s: &[u8], i: usize) -> Option<(usize, i64)> {
    two(s, i, 1, 31)
}

/// `time_hour` `:` `time_minute` `:` `time_second` (`00`–`59` or `60`).
fn hms(s: &[u8], i: usize) -> Option<(usize, i64)> {
    let (e, h) = two(s, i, 0, 23)?;
    let (e, m) = two(s, lit(s, e, b":")?, 0, 59)?;
    let (e, sec) = two(s, lit(s, e, b":")?, 0, 60)?;
    Some((e, h * 3600 + m * 60 + sec))
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const DAYS: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

/// `date_mabbr`: the month's number.
fn mabbr(s: &[u8], i: usize) -> Option<(usize, i64)> {
    MONTHS
        .iter()
        .zip(1..)
        .find_map(|(m, n)| lit(s, i, m).map(|e| (e, n)))
}

fn year(s: &[u8], i: usize) -> Option<(usize, i64)> {
    let y = (0..4).try_fold(0, |y, k| Some(y * 10 + d(s, i + k)?))?;
    Some((i + 4, y))
}

/// `date_time`'s `days_since_epoch` (a proleptic Gregorian date; `month` is 1–12).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let shifted = (month + 9) % 12;
    let doy = (153 * shifted + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `time_to_ns`: `(secs + sec_frac + shift) * 1e9`, in doubles.
fn to_ns(year: i64, month: i64, day: i64, secs_of_day: i64, frac: f64, shift: i64) -> f64 {
    let secs = days_since_epoch(year, month, day) * 86_400 + secs_of_day;
    (secs as f64 + frac + shift as f64) * 1e9
}

/// The seconds `time_to_ns` adds for an offset east (`+`) or west of UTC.
fn shift(sign: u8, hour: i64, min: i64) -> i64 {
    let s = hour * 3600 + min * 60;
    if sign == b'+' { -s } else { s }
}

/// `[+-]HHMM` (`timezone_offset`), or with a colon (`rfc3339_time_numoffset`).
fn offset(s: &[u8], i: usize, colon: bool) -> Option<(usize, i64)> {
    let sign = *s.get(i).filter(|b| matches!(b, b'+' | b'-'))?;
    let (e, h) = two(s, i + 1, 0, 23)?;
    let e = if colon { lit(s, e, b":")? } else { e };
    let (e, m) = two(s, e, 0, 59)?;
    Some((e, shift(sign, h, m)))
}

/// `date_time.clf_timestamp / time_to_ns`: `10/Feb/2014:08:46:41 -0800`.
pub(crate) fn clf(s: &[u8], i: usize) -> Option<(usize, f64)> {
    let (e, day) = mday(s, i)?;
    let (e, month) = mabbr(s, lit(s, e, b"/")?)?;
    let (e, y) = year(s, lit(s, e, b"/")?)?;
    let (e, secs) = hms(s, lit(s, e, b":")?)?;
    let (e, sh) = offset(s, lit(s, e, b" ")?, false)?;
    Some((e, to_ns(y, month, day, secs, 0.0, sh)))
}

/// `date_time.rfc3339 / time_to_ns`: `1999-05-05T23:23:59.217-07:00`.
pub(crate) fn rfc3339(s: &[u8], i: usize) -> Option<(usize, f64)> {
    let (e, y) = year(s, i)?;
    let (e, month) = two(s, lit(s, e, b"-")?, 1, 12)?;
    let (e, day) = mday(s, lit(s, e, b"-")?)?;
    let (mut e, secs) = hms(s, lit(s, e, b"T")?)?;
    let mut frac = 0.0;
    if s.get(e) == Some(&b'.') {
        let n = s[e + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let mut t = b"0".to_vec();
            t.extend_from_slice(&s[e..e + 1 + n]);
            frac = std::str::from_utf8(&t)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0.0);
            e += 1 + n;
        }
    }
    let (e, sh) = match lit(s, e, b"Z") {
        Some(e) => (e, 0),
        None => offset(s, e, true)?,
    };
    Some((e, to_ns(y, month, day, secs, frac, sh)))
}

/// `%a, %d %b %Y %T GMT` (nginx's `$upstream_cache_last_modified`), each white space of the
/// format matching one white-space character.
pub(crate) fn last_modified(s: &[u8], i: usize) -> Option<(usize, f64)> {
    let space = |i: usize| {
        s.get(i)
            .filter(|b| super::values::is_space(**b))
            .map(|_| i + 1)
    };
    let e = DAYS.iter().find_map(|w| lit(s, i, w))?;
    let e = space(lit(s, e, b",")?)?;
    let (e, day) = mday(s, e)?;
    let (e, month) = mabbr(s, space(e)?)?;
    let (e, y) = year(s, space(e)?)?;
    let (e, secs) = hms(s, space(e)?)?;
    let e = lit(s, space(e)?, b"GMT")?;
    Some((e, to_ns(y, month, day, secs, 0.0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_times() {
        // 2014-01-10 07:04:56 -0800 PST.
        let t = b"10/Jan/2014:07:04:56 -0800]";
        assert_eq!(clf(t, 0), Some((26, 1_389_366_296e9)));
        assert_eq!(clf(b"32/Jan/2014:07:04:56 -0800", 0), None);
        assert_eq!(clf(b"10/Jan/2014:24:04:56 -0800", 0), None);
        // A leap second, and a date before the epoch.
        assert_eq!(clf(b"31/Dec/1969:23:59:60 +0000", 0), Some((26, 0.0)));
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(
            rfc3339(b"2014-01-10T07:04:56-08:00", 0),
            Some((25, 1_389_366_296e9))
        );
        let (e, ns) = rfc3339(b"2014-01-10T15:04:56.25Z", 0).unwrap();
        assert_eq!((e, ns), (23, (1_389_366_296.0 + 0.25) * 1e9));
        // A dot without digits is not a fraction, and then no offset follows.
        assert_eq!(rfc3339(b"2014-01-10T15:04:56.Z", 0), None);
    }

    #[test]
    fn last_modified_times() {
        assert_eq!(
            last_modified(b"Fri, 10 Jan 2014 15:04:56 GMT", 0),
            Some((29, 1_389_366_296e9))
        );
        assert_eq!(last_modified(b"Fri, 10 Jan 2014 15:04:56 UTC", 0), None);
    }
}
