//! PayloadRegexDecoder: parses the payload with a regex and fills the message from its
//! captures.
//!
//! ```toml
//! [nginx_decoder]
//! type = "PayloadRegexDecoder"
//! match_regex = '^(?P<RemoteIP>\S+) \S+ \S+ \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Url>[^\s]+)[^"]*" (?P<StatusCode>\d+) (?P<RequestSize>\d+)'
//! timestamp_layout = "02/Jan/2006:15:04:05 -0700"
//! timestamp_location = "UTC"
//! log_errors = true
//!
//! [nginx_decoder.severity_map]
//! warning = 4
//!
//! [nginx_decoder.message_fields]
//! Type = "nginx.access"
//! RemoteIP = "%RemoteIP%"
//! "RequestSize|B" = "%RequestSize%"
//! Url = "%Method% %Url%"
//! ```
//!
//! Options:
//! - `match_regex` (required): Go RE2 regex with at least one capture group, searched (not
//!   anchored) in the payload. Named groups are captures by name, unnamed ones by number
//!   (`"1"`, `"2"`, …); a group that did not take part captures `""`.
//! - `timestamp_layout`: a Go reference-time layout (`Jan _2 15:04:05`, …) or `Epoch`,
//!   `EpochMilli`, `EpochMicro`, `EpochNano`. A capture named `Timestamp` is parsed with it,
//!   then with each of Go's named layouts (`RFC3339`, `Stamp`, …). A date without a year
//!   (syslog's `Jan _2 15:04:05`) gets the latest year that puts it at most two days ahead of
//!   now; a time without a date (`3:04PM`) the latest date (in its zone) that puts it at most
//!   an hour ahead.
//! - `timestamp_location` (default UTC): IANA zone name for times that carry no zone, from the
//!   system's tz database (`/usr/share/zoneinfo`, `$TZDIR`, or Go's `$ZONEINFO` first);
//!   `Local` is hekad's zone. Wall-clock times in a daylight saving gap or overlap resolve as
//!   Go's `time.Date` resolves them.
//! - `severity_map`: names to severities for a capture named `Severity` (else it must be an
//!   integer). That capture is then removed, so `%Severity%` renders `<Severity>`.
//! - `message_fields`: `name = "template"`; `%capture%` is replaced by the capture (an unknown
//!   name by `<name>`). `Type`, `Logger`, `Hostname`, `Payload`, `Pid` (integer part),
//!   `Severity` and `Uuid` (16 raw bytes or the 36-character text form) set the header; any
//!   other key adds a string field, `name|representation` with a representation.
//! - `log_errors` (default true): a payload that does not match fails with
//!   `No match: <payload>`; when false it is dropped silently.
//!
//! An unparseable timestamp or severity is logged and the message keeps its value; a `Pid`,
//! `Severity` or `Uuid` template that does not parse fails the decode.
//!
//! Differences from Heka:
//! - An unparseable timestamp leaves the timestamp alone; Heka stored an overflowed value.
//! - A yearless date is not forced into the current year, nor a yearless January 1 or a time
//!   of day onto today's date (hekad's local date): both take the most recent fitting time.
//! - Heka tried its fallback layouts in random order; here the order is fixed (Go's list).
//! - An unknown `Epoch…` layout is a config error; Heka failed every timestamp at run time.
//! - `message_fields` entries are applied in key order (Heka: random order).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use regex::bytes::{CaptureLocations, Regex};
use serde::Deserialize;

use crate::support::captures::CaptureHelper;
use crate::support::template::MessageTemplate;

/// PayloadRegexDecoder options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PayloadRegexDecoderConfig {
    /// The regex applied to the payload.
    match_regex: String,
    /// Severity names to numbers.
    severity_map: BTreeMap<String, i32>,
    /// Message template.
    message_fields: BTreeMap<String, String>,
    /// Go layout or `Epoch*` for the `Timestamp` capture.
    timestamp_layout: String,
    /// Zone of timestamps that carry none.
    timestamp_location: String,
    /// Whether a non-matching payload is an error (true) or dropped silently.
    log_errors: bool,
}

impl Default for PayloadRegexDecoderConfig {
    fn default() -> Self {
        PayloadRegexDecoderConfig {
            match_regex: String::new(),
            severity_map: BTreeMap::new(),
            message_fields: BTreeMap::new(),
            timestamp_layout: String::new(),
            timestamp_location: String::new(),
            log_errors: true,
        }
    }
}

/// Parses `PayloadRegexDecoder` captures into messages.
struct PayloadRegexDecoder {
    regex: Regex,
    locs: CaptureLocations,
    timestamp_group: Option<usize>,
    severity_group: Option<usize>,
    /// The template, whose captures are the regex's group indexes.
    template: MessageTemplate,
    helper: CaptureHelper,
    log_errors: bool,
}

impl Decoder for PayloadRegexDecoder {
    /// Each line is decoded on its own (the decoder's buffers are scratch space).
    fn parallel_safe(&self) -> bool {
        true
    }

    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        let payload = pack.message().payload.clone().unwrap_or_default();
        if self.regex.captures_read(&mut self.locs, &payload).is_none() {
            if !self.log_errors {
                return Ok(Decoded::Drop);
            }
            // Heka compat: plugins/payload/payloadregex_decoder.go's error text.
            return Err(CodecError::new(format!(
                "No match: {}",
                String::from_utf8_lossy(&payload)
            )));
        }
        // A group that did not take part captures "" (Heka's regexp gave "").
        let capture = |g: usize| match self.locs.get(g) {
            Some((s, e)) => payload.slice(s..e),
            None => Bytes::new(),
        };
        let msg = pack.message_mut();
        if let Some(g) = self.timestamp_group {
            self.helper.decode_timestamp(msg, &capture(g));
        }
        if let Some(g) = self.severity_group {
            self.helper.decode_severity(msg, &capture(g));
        }
        self.template.apply(msg, |g| Some(capture(g)))?;
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: PayloadRegexDecoderConfig = ctx.options.parse()?;
    let regex = heka_matcher::go_regex::compile(&c.match_regex)
        .map_err(|e| ctx.error(Some("match_regex"), format!("PayloadRegexDecoder: {e}")))?;
    if regex.captures_len() < 2 {
        return Err(ctx.error(
            Some("match_regex"),
            "PayloadRegexDecoder regex must contain capture groups",
        ));
    }
    let mut groups = HashMap::new();
    for (i, name) in regex.capture_names().enumerate().skip(1) {
        groups.insert(name.map_or_else(|| i.to_string(), str::to_string), i);
    }
    let helper = CaptureHelper::new(
        ctx,
        "PayloadRegexDecoder",
        &c.timestamp_layout,
        &c.timestamp_location,
        c.severity_map,
    )?;
    let timestamp_group = groups.get("Timestamp").copied();
    // The Severity capture is consumed before the template is applied.
    let severity_group = groups.remove("Severity");
    Ok(Box::new(PayloadRegexDecoder {
        locs: regex.capture_locations(),
        regex,
        timestamp_group,
        severity_group,
        template: MessageTemplate::compile(&c.message_fields, &groups),
        helper,
        log_errors: c.log_errors,
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "PayloadRegexDecoder",
    summary: "Parses the payload with a regex and fills the message from its captures.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::{FieldValue, Message};

    fn build_from(options: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        crate::support::testing::build(SPEC.build, "d", "PayloadRegexDecoder", options)
    }

    /// Timestamp of the packs before decoding.
    const BEFORE: i64 = 12_345;

    /// A pack as the stream runner builds it for a text record.
    fn pack(payload: &str) -> Pack {
        let mut m = Message::new_now();
        m.timestamp = BEFORE;
        m.set_payload(payload.to_string());
        m.set_logger("input");
        let mut p = Pack::new(m);
        p.ensure_encoded();
        p
    }

    fn decode(d: &mut dyn Decoder, payload: &str) -> (Result<Decoded, CodecError>, Message) {
        let mut p = pack(payload);
        let mut extra = Vec::new();
        let r = d.decode(&mut p, &mut extra);
        assert!(extra.is_empty());
        if r == Ok(Decoded::Keep) {
            assert!(
                p.raw().is_none(),
                "a changed message must drop its old encoding"
            );
        }
        (r, p.into_message())
    }

    fn field<'a>(m: &'a Message, name: &str) -> Option<&'a [u8]> {
        match m.field_value(name.as_bytes()) {
            Some(Some(FieldValue::String(s))) => Some(s),
            _ => None,
        }
    }

    const NGINX: &str = r#"
match_regex = '^(?P<RemoteIP>\S+) \S+ (?P<User>\S+) \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Url>[^\s]+)[^"]*" (?P<StatusCode>\d+) (?P<RequestSize>\d+)'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"
[d.message_fields]
Type = "nginx.access"
Hostname = "web-%User%"
RemoteIP = "%RemoteIP%"
"RequestSize|B" = "%RequestSize%"
Request = "%Method% %Url% -> %StatusCode% (%Unknown%)"
"#;

    #[test]
    fn decodes_nginx_access_lines() {
        let mut d = build_from(NGINX).unwrap();
        let line = r#"10.1.2.3 - frank [10/Oct/2015:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "-" "curl/7.43""#;
        let (r, m) = decode(&mut *d, line);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.timestamp, 1_444_510_536_000_000_000);
        assert_eq!(m.type_bytes(), b"nginx.access");
        assert_eq!(m.hostname_bytes(), b"web-frank");
        assert_eq!(m.logger_bytes(), b"input", "untouched");
        assert_eq!(m.payload_bytes(), line.as_bytes(), "untouched");
        assert_eq!(field(&m, "RemoteIP"), Some(&b"10.1.2.3"[..]));
        assert_eq!(
            field(&m, "Request"),
            Some(&b"GET /apache_pb.gif?x=1 -> 200 (<Unknown>)"[..])
        );
        let size = m.find_first_field(b"RequestSize").unwrap();
        assert_eq!(size.representation_bytes(), b"B");
        assert_eq!(size.value(0), Some(FieldValue::String(b"2326")));
        // Only template entries become fields.
        assert!(m.find_first_field(b"Method").is_none());
        assert_eq!(m.fields.len(), 3);

        let (r, m) = decode(&mut *d, "garbage line");
        assert_eq!(r, Err(CodecError::new("No match: garbage line")));
        assert_eq!(m.fields.len(), 0);
    }

    const SYSLOG: &str = r#"
match_regex = '^(?P<Timestamp>\w{3} [ \d]\d \d\d:\d\d:\d\d) (?P<Host>\S+) (?P<Program>[^\[:]+)(?:\[(?P<Pid>\d+)\])?: <(?P<Severity>\w+)> (?P<Message>.*)$'
timestamp_layout = "Jan _2 15:04:05"
timestamp_location = "America/Los_Angeles"
[d.severity_map]
crit = 2
err = 3
warning = 4
info = 6
[d.message_fields]
Type = "syslog"
Hostname = "%Host%"
Logger = "%Program%"
Pid = "%Pid%"
Payload = "%Message%"
Sev = "%Severity%"
"#;

    #[test]
    fn decodes_syslog_lines_with_severity_map_and_yearless_dates() {
        let mut d = build_from(SYSLOG).unwrap();
        // No year in the text: the most recent such date, here three days ago (Los Angeles).
        let la = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
        let now = jiff::Timestamp::now().to_zoned_datetime(la.clone());
        let day = now.date().checked_sub(jiff::Span::new().days(3)).unwrap();
        let mut line = day.strftime("%b %e").to_string();
        line.push_str(
            " 09:15:02 db1 postgres[4711]: <warning> checkpoints are occurring too frequently",
        );
        let (r, m) = decode(&mut *d, &line);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.severity, Some(4));
        assert_eq!(m.hostname_bytes(), b"db1");
        assert_eq!(m.logger_bytes(), b"postgres");
        assert_eq!(m.pid, Some(4711));
        assert_eq!(
            m.payload_bytes(),
            b"checkpoints are occurring too frequently"
        );
        // The Severity capture is consumed before the template.
        assert_eq!(field(&m, "Sev"), Some(&b"<Severity>"[..]));
        let want = day
            .at(9, 15, 2, 0)
            .to_zoned_datetime(la)
            .unwrap()
            .timestamp();
        assert_eq!(i128::from(m.timestamp), want.as_nanosecond(), "{line}");

        // Numeric severity; a line without a pid fails the Pid template ("" is not a number).
        let (r, _) = decode(&mut *d, "Dec 24 23:59:59 gw kernel: <5> eth0 up");
        assert_eq!(
            r,
            Err(CodecError::new(
                r#"strconv.ParseInt: parsing "": invalid syntax"#
            ))
        );
    }

    #[test]
    fn unknown_severity_and_timestamp_are_logged_and_kept() {
        let mut d = build_from(
            "match_regex = '(?P<Severity>\\w+) at (?P<Timestamp>.*)'\n\
             timestamp_layout = \"2006-01-02\"",
        )
        .unwrap();
        let (r, m) = decode(&mut *d, "BOGUS at never");
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.severity, None, "unchanged");
        assert_eq!(m.timestamp, BEFORE, "unchanged");
        let (_, m) = decode(&mut *d, "3 at 2013-04-18");
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.timestamp, 1_366_243_200_000_000_000);
        // A fallback layout (RFC3339) is tried when the configured one does not fit.
        let (_, m) = decode(&mut *d, "3 at 2013-04-18T21:00:28Z");
        assert_eq!(m.timestamp, 1_366_318_828_000_000_000);
    }

    /// Found by the `payload_regex` fuzz target: cutting an `Epoch*` fraction to its digits
    /// went through a multi-byte character and panicked. Such a value is no timestamp.
    #[test]
    fn an_epoch_fraction_cut_inside_a_character_is_no_timestamp() {
        let mut d = build_from(
            "match_regex = '^(?P<Timestamp>[^|]*)'\n\
             timestamp_layout = \"EpochMilli\"",
        )
        .unwrap();
        let (r, m) = decode(&mut *d, "1.24\u{3}6:\u{32b}T");
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.timestamp, BEFORE, "unchanged");
    }

    #[test]
    fn timestamp_layouts() {
        let re = "match_regex = '\\[(?P<Timestamp>[^\\]]+)\\]'\n";
        let cases: &[(&str, &str, i64)] = &[
            // Heka's payload_decoder_test.go vectors.
            (
                "02/Jan/2006:15:04:05 -0700",
                "[18/Apr/2013:14:00:28 -0700]",
                1_366_318_828_000_000_000,
            ),
            ("Epoch", "[1414448234.638504391]", 1_414_448_234_638_504_391),
            ("Epoch", "[1414448234]", 1_414_448_234_000_000_000),
            ("Epoch", "[1414448234.5]", 1_414_448_234_500_000_000),
            (
                "EpochMilli",
                "[1414448234638.504391]",
                1_414_448_234_638_504_391,
            ),
            (
                "EpochMicro",
                "[1414448234638504]",
                1_414_448_234_638_504_000,
            ),
            (
                "EpochNano",
                "[1414448234638504391]",
                1_414_448_234_638_504_391,
            ),
            (
                "2006-01-02 15:04:05",
                "[2015-10-07 18:47:00]",
                1_444_243_620_000_000_000,
            ),
            (
                "Jan 02 15:04:05 2006",
                "[Oct 07 18:47:00 2015]",
                1_444_243_620_000_000_000,
            ),
        ];
        for (layout, payload, want) in cases {
            let mut d = build_from(&format!("{re}timestamp_layout = \"{layout}\"")).unwrap();
            let (r, m) = decode(&mut *d, payload);
            assert_eq!(r, Ok(Decoded::Keep));
            assert_eq!(m.timestamp, *want, "{layout} {payload}");
        }
        // Heka's "adjusts timestamps as specified" case.
        let mut d = build_from(&format!(
            "{re}timestamp_layout = \"02/Jan/2006:15:04:05\"\n\
             timestamp_location = \"America/Los_Angeles\""
        ))
        .unwrap();
        let (_, m) = decode(&mut *d, "[18/Apr/2013:14:00:28]");
        assert_eq!(m.timestamp, 1_366_318_828_000_000_000);
        // Heka's kitchen case: a time of day gets the date that puts it at most an hour ahead.
        let mut d = build_from(&format!("{re}timestamp_layout = \"3:04PM\"")).unwrap();
        let before = heka_message::now_ns();
        let (_, m) = decode(&mut *d, "[5:16PM]");
        let after = heka_message::now_ns();
        const HOUR: i64 = 3_600_000_000_000;
        assert!(m.timestamp <= after + HOUR, "{}", m.timestamp);
        assert!(m.timestamp > before + HOUR - 24 * HOUR, "{}", m.timestamp);
        // The location is UTC: the wall clock there is the time that was set.
        let ns_of_day = m.timestamp.rem_euclid(24 * HOUR);
        assert_eq!(ns_of_day, (17 * 60 + 16) * 60_000_000_000);
    }

    /// Every layout of Heka's docs and the common log formats, through the decoder, with the
    /// named layouts both as the configured layout and as fallbacks.
    #[test]
    fn users_timestamp_formats() {
        let re = "match_regex = '\\[(?P<Timestamp>[^\\]]+)\\]'\n";
        // 2015-10-07 18:47:00 UTC.
        const T: i64 = 1_444_243_620_000_000_000;
        let cases: &[(&str, &str, &str, i64)] = &[
            // Go's named layouts (time.ANSIC … time.RFC3339Nano).
            (
                "Mon Jan _2 15:04:05 2006",
                "",
                "Wed Oct  7 18:47:00 2015",
                T,
            ),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "",
                "Wed Oct  7 18:47:00 UTC 2015",
                T,
            ),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Europe/Paris",
                "Wed Oct  7 20:47:00 CEST 2015",
                T,
            ),
            (
                "Mon Jan 02 15:04:05 -0700 2006",
                "",
                "Wed Oct 07 11:47:00 -0700 2015",
                T,
            ),
            ("02 Jan 06 15:04 MST", "", "07 Oct 15 18:47 UTC", T),
            ("02 Jan 06 15:04 -0700", "", "07 Oct 15 20:47 +0200", T),
            (
                "Monday, 02-Jan-06 15:04:05 MST",
                "",
                "Wednesday, 07-Oct-15 18:47:00 GMT",
                T,
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 MST",
                "",
                "Wed, 07 Oct 2015 18:47:00 GMT",
                T,
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 -0700",
                "",
                "Wed, 07 Oct 2015 14:47:00 -0400",
                T,
            ),
            ("2006-01-02T15:04:05Z07:00", "", "2015-10-07T18:47:00Z", T),
            (
                "2006-01-02T15:04:05Z07:00",
                "",
                "2015-10-07T20:47:00+02:00",
                T,
            ),
            (
                "2006-01-02T15:04:05.999999999Z07:00",
                "",
                "2015-10-07T18:47:00.123456789Z",
                T + 123_456_789,
            ),
            // RFC 3339 with a fraction the layout does not spell out, and with a comma.
            (
                "2006-01-02T15:04:05Z07:00",
                "",
                "2015-10-07T14:47:00.5-04:00",
                T + 500_000_000,
            ),
            (
                "2006-01-02T15:04:05,000Z07:00",
                "",
                "2015-10-07T18:47:00,250Z",
                T + 250_000_000,
            ),
            // A layout given by its Go name is no layout; the named layouts catch the value.
            ("RFC3339", "", "2015-10-07T18:47:00Z", T),
            ("RFC1123Z", "", "Wed, 07 Oct 2015 14:47:00 -0400", T),
            // nginx $time_local and Apache %t (Heka's test vector), with and without a zone.
            (
                "02/Jan/2006:15:04:05 -0700",
                "",
                "18/Apr/2013:14:00:28 -0700",
                1_366_318_828_000_000_000,
            ),
            (
                "02/Jan/2006:15:04:05 -0700",
                "Europe/Paris",
                "10/Oct/2000:13:55:36 -0700",
                971_211_336_000_000_000,
            ),
            (
                "02/Jan/2006:15:04:05",
                "Europe/Paris",
                "18/Apr/2013:14:00:28",
                1_366_286_428_000_000_000,
            ),
            // Daylight saving time changes in Paris and New York, resolved as Go's time.Date.
            (
                "2006-01-02 15:04:05",
                "Europe/Paris",
                "2021-03-28 01:59:59",
                1_616_893_199_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "Europe/Paris",
                "2021-03-28 02:30:00",
                1_616_895_000_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "Europe/Paris",
                "2021-03-28 03:00:00",
                1_616_893_200_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "Europe/Paris",
                "2021-10-31 02:30:00",
                1_635_643_800_000_000_000,
            ),
            (
                "2006-01-02 15:04:05 -0700",
                "Europe/Paris",
                "2021-10-31 02:30:00 +0200",
                1_635_640_200_000_000_000,
            ),
            (
                "2006-01-02 15:04:05 MST",
                "Europe/Paris",
                "2021-10-31 02:30:00 CEST",
                1_635_640_200_000_000_000,
            ),
            (
                "2006-01-02 15:04:05 MST",
                "Europe/Paris",
                "2021-10-31 02:30:00 CET",
                1_635_643_800_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "America/New_York",
                "2021-03-14 02:30:00",
                1_615_703_400_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "America/New_York",
                "2021-03-14 03:00:00",
                1_615_705_200_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "America/New_York",
                "2021-11-07 01:30:00",
                1_636_263_000_000_000_000,
            ),
            (
                "2006-01-02 15:04:05 MST",
                "America/New_York",
                "2021-11-07 01:30:00 EST",
                1_636_266_600_000_000_000,
            ),
            (
                "2006-01-02 15:04:05",
                "America/New_York",
                "2021-11-07 02:00:00",
                1_636_268_400_000_000_000,
            ),
            // Epoch seconds, milliseconds, microseconds, nanoseconds; the location is ignored.
            ("Epoch", "Europe/Paris", "1444243620", T),
            ("Epoch", "", "1444243620.123456789", T + 123_456_789),
            ("EpochMilli", "", "1444243620123", T + 123_000_000),
            ("EpochMilli", "", "1444243620123.456", T + 123_456_000),
            ("EpochMicro", "", "1444243620123456", T + 123_456_000),
            ("EpochNano", "", "1444243620123456789", T + 123_456_789),
        ];
        for (layout, location, value, want) in cases {
            let mut d = build_from(&format!(
                "{re}timestamp_layout = \"{layout}\"\ntimestamp_location = \"{location}\""
            ))
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
            let (r, m) = decode(&mut *d, &format!("[{value}]"));
            assert_eq!(r, Ok(Decoded::Keep));
            assert_eq!(m.timestamp, *want, "{layout} / {location} / {value}");
        }
        // Any layout falls back to the named ones.
        let mut d = build_from(&format!("{re}timestamp_layout = \"2006-01-02\"")).unwrap();
        for (layout, location, value, want) in cases {
            if location.is_empty() && !layout.starts_with("Epoch") && !layout.contains('/') {
                let (_, m) = decode(&mut *d, &format!("[{value}]"));
                assert_eq!(m.timestamp, *want, "{value} as a fallback");
            }
        }
        // A zone name that is not in the tz database is a config error.
        let e = build_from(&format!("{re}timestamp_location = \"Mars/Olympus\"")).err();
        assert!(e.is_some_and(|e| e.to_string().contains(
            "unknown timestamp_location 'Mars/Olympus': unknown time zone Mars/Olympus"
        )),);
    }

    #[test]
    fn template_rules() {
        let mut d = build_from(
            r#"match_regex = '(?P<ResponseTime>\d+\.\d+) (\w+) (?P<Id>\S+)'
[d.message_fields]
"ResponseTime|s" = "%ResponseTime%"
"Payload|s" = "%ResponseTime%"
Payload = "header"
Pid = "%ResponseTime%"
Unnamed = "%2%%%2%"
Uuid = "%Id%"
Severity = "5""#,
        )
        .unwrap();
        let (r, m) = decode(&mut *d, "0.23 word 72DE6A05-1b99-4a88-84c2-90797624c68f");
        assert_eq!(r, Ok(Decoded::Keep));
        let f = m.find_first_field(b"ResponseTime").unwrap();
        assert_eq!(f.representation_bytes(), b"s");
        assert_eq!(f.value(0), Some(FieldValue::String(b"0.23")));
        let f = m.find_first_field(b"Payload").unwrap();
        assert_eq!(f.value(0), Some(FieldValue::String(b"0.23")));
        assert_eq!(f.representation_bytes(), b"s");
        assert_eq!(m.payload_bytes(), b"header");
        assert_eq!(m.pid, Some(0));
        assert_eq!(m.severity, Some(5));
        assert_eq!(field(&m, "Unnamed"), Some(&b"word%word"[..]));
        assert_eq!(m.uuid_string(), "72de6a05-1b99-4a88-84c2-90797624c68f");

        let (r, _) = decode(&mut *d, "1.5 word not-a-uuid");
        assert_eq!(r, Err(CodecError::new("Invalid UUID string.")));
        let (r, m) = decode(
            &mut *d,
            "1.5 word urn:uuid:72de6a05-1b99-4a88-84c2-90797624c68f",
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.pid, Some(1));
        let (r, m) = decode(&mut *d, "1.5 word 0123456789abcdef");
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(&m.uuid[..], b"0123456789abcdef");
    }

    #[test]
    fn log_errors_false_drops_silently() {
        let mut d = build_from("match_regex = '(x)'\nlog_errors = false").unwrap();
        let (r, _) = decode(&mut *d, "no such letter");
        assert_eq!(r, Ok(Decoded::Drop));
    }

    #[test]
    fn config_errors() {
        let err = |opts: &str| {
            build_from(opts)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(r"match_regex = '\d+'").contains("regex must contain capture groups"));
        assert!(err(r"match_regex = '\mtest'").contains("PayloadRegexDecoder: "));
        assert!(err("").contains("capture groups"));
        assert!(
            err("match_regex = '(x)'\ntimestamp_location = \"Mars/Olympus\"")
                .contains("unknown timestamp_location 'Mars/Olympus'")
        );
        assert!(err("match_regex = '(x)'\ntimestamp_layout = \"EpochDays\"").contains("Epoch"));
        assert!(!err("match_regex = '(x)'\n[d.severity_map]\nx = \"high\"").is_empty());
        assert!(!err("match_regex = '(x)'\nmatch = 1").is_empty());
    }
}
