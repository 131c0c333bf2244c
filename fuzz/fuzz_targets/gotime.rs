//! Fuzzes the Go time code of heka-plugins (`support::gotime`, reached through
//! `heka_plugins::fuzzing`): Go layouts, parsed and formatted, and strftime formats, with
//! arbitrary layout text, values and instants, in UTC, fixed offsets and IANA zones.
//!
//! Input layout: byte 0 selects the zone, bytes 1–8 are the instant (nanoseconds since the
//! epoch, little endian), the rest is the layout text, a NUL byte, and the value to parse
//! (both read as UTF-8, invalid sequences replaced by U+FFFD, for the layout).
//!
//! Nothing may panic: parsing the value with the layout and with each of Go's named layouts
//! (as PayloadRegexDecoder tries them), formatting the instant with the layout, and rendering
//! it with the layout text as a strftime format. Layouts that carry every part of a time
//! (date, time, fraction, numeric offset) must give back the instant they formatted, at their
//! precision, in whichever zone it was formatted (or out of range, when the instant cut to
//! whole seconds falls before the earliest one).

#![no_main]

use std::sync::OnceLock;

use heka_plugins::fuzzing::{
    GO_NAMED_LAYOUTS, TimeZone, format_go_time, format_strftime, parse_go_time,
};
use libfuzzer_sys::fuzz_target;

/// Layouts that round-trip: the nanoseconds each keeps (1 = all, 10^9 = whole seconds), and
/// whether its offset keeps seconds. IANA zones have offsets with seconds (local mean time
/// before the zone's first transition), which only those layouts carry.
const ROUND_TRIP: &[(&str, i64, bool)] = &[
    ("2006-01-02T15:04:05.999999999Z07:00", 1, false),
    ("2006-01-02 15:04:05.000000000 -0700", 1, false),
    ("Mon, 02 Jan 2006 15:04:05 -0700", 1_000_000_000, false),
    ("Mon Jan 02 15:04:05 -0700 2006", 1_000_000_000, false),
    (
        "Monday January _2 3:04:05.000PM 2006 Z0700",
        1_000_000,
        false,
    ),
    ("20060102150405.000000-07:00:00", 1_000, true),
    ("2006-01-02T15:04:05.999999999Z07:00:00", 1, true),
    ("Jan 2 2006 15:04:05.999 -070000", 1_000_000, true),
];

/// IANA zones: daylight saving time, a half-hour shift, and a zone without any.
const ZONES: &[&str] = &["America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata"];

fn iana(i: usize) -> &'static TimeZone {
    static LOADED: OnceLock<Vec<TimeZone>> = OnceLock::new();
    let zones = LOADED.get_or_init(|| {
        ZONES
            .iter()
            .map(|name| match TimeZone::load(name) {
                Some(z) => z,
                None => panic!("time zone {name} missing: install tzdata"),
            })
            .collect()
    });
    &zones[i % zones.len()]
}

/// The zone byte 0 selects: UTC, a fixed offset (a multiple of 15 minutes within ±11:45),
/// or one of [`ZONES`].
fn zone(selector: u8) -> TimeZone {
    match selector % 4 {
        0 => TimeZone::fixed("UTC", 0),
        1 => {
            let quarters = i32::from(selector >> 2) % 95 - 47;
            TimeZone::fixed("FIX", quarters * 15 * 60)
        }
        _ => iana(usize::from(selector >> 2)).clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, t0, t1, t2, t3, t4, t5, t6, t7, rest @ ..] = data else {
        return;
    };
    let ts = i64::from_le_bytes([*t0, *t1, *t2, *t3, *t4, *t5, *t6, *t7]);
    let zone = zone(*selector);
    let utc = TimeZone::fixed("UTC", 0);
    let (layout, value) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let layout = String::from_utf8_lossy(layout);

    let parsed = parse_go_time(&layout, value, &zone);
    std::hint::black_box(&parsed);
    for named in GO_NAMED_LAYOUTS {
        std::hint::black_box(parse_go_time(named, value, &zone).ok());
    }
    let text = format_go_time(&layout, ts, &zone);
    std::hint::black_box(parse_go_time(&layout, text.as_bytes(), &zone).ok());
    std::hint::black_box(format_strftime(&layout, ts, &zone));

    let offsets_with_seconds = selector % 4 >= 2;
    for &(layout, precision, keeps_seconds) in ROUND_TRIP {
        if offsets_with_seconds && !keeps_seconds {
            continue;
        }
        let text = format_go_time(layout, ts, &zone);
        // The instant cut to the layout's precision, which may fall before i64::MIN.
        let cut = i128::from(ts.div_euclid(precision)) * i128::from(precision);
        let want = i64::try_from(cut).ok();
        match parse_go_time(layout, text.as_bytes(), &utc) {
            Ok(got) => assert_eq!(got, want, "{ts} formatted as {text:?} with {layout:?}"),
            Err(e) => panic!("{text:?} does not parse with {layout:?}: {e}"),
        }
    }
});
