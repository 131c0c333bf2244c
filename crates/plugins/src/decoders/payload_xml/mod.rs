//! PayloadXmlDecoder: reads values out of an XML payload with XPath expressions and fills the
//! message from them.
//!
//! ```toml
//! [soap_decoder]
//! type = "PayloadXmlDecoder"
//! timestamp_layout = "2006-01-02T15:04:05Z07:00"
//!
//! [soap_decoder.xpath_map]
//! Timestamp = "/Envelope/Body/event/@time"
//! Severity = "//event/level"
//! User = "//event/user[@role='admin']/name"
//! Comment = "/Envelope/preceding::comment()"
//!
//! [soap_decoder.severity_map]
//! warning = 4
//!
//! [soap_decoder.message_fields]
//! Type = "soap.event"
//! User = "%User%"
//! "Note|text" = "%Comment%"
//! ```
//!
//! Options:
//! - `xpath_map`: capture name → XPath expression. The capture is the string value of the
//!   first node the expression selects from the document's root (an element's text, an
//!   attribute's value, a comment's text…); an expression that selects nothing gives no
//!   capture, so `%name%` renders `<name>`. Expressions are the subset Heka's xmlpath knew —
//!   axes and their abbreviations (`.`, `..`, `//`, `@`), names without namespace prefixes,
//!   `*`, `node()`, `text()`, `comment()`, `processing-instruction()`, and one predicate per
//!   step: `[N]`, `[path]` or `[path='literal']`; no functions, no operators. Element and
//!   attribute names match by local name (a `soap:Body` element is `Body`). An expression that
//!   does not compile is a config error.
//! - `timestamp_layout` (default `"2012-04-23T18:25:43.511Z"`, Heka's default, which is a date
//!   rather than a layout, so Go's named layouts — RFC 3339 and the others — do the work): a Go
//!   layout or `Epoch`, `EpochMilli`, `EpochMicro`, `EpochNano`, for a capture named
//!   `Timestamp`, as PayloadRegexDecoder's.
//! - `timestamp_location` (default UTC): IANA zone of timestamps that carry none.
//! - `severity_map`: names to severities for a capture named `Severity` (else it must be an
//!   integer); that capture is then removed, so `%Severity%` renders `<Severity>`.
//! - `message_fields`: `name = "template"`, as PayloadRegexDecoder's: `%capture%` is replaced;
//!   `Type`, `Logger`, `Hostname`, `Payload`, `Pid`, `Severity` and `Uuid` set the header, any
//!   other key adds a string field (`name|representation` with a representation).
//!
//! A payload that is not XML gives no captures; the decode still succeeds, as in Heka, and
//! only a `Pid`, `Severity` or `Uuid` template that does not parse fails it.
//!
//! Differences from Heka:
//! - The payload is parsed once per message, not once per expression. When it did not parse,
//!   Heka's later expressions read from wherever the failed parse had left its reader; here
//!   every capture is absent.
//! - An unparseable timestamp is logged and left alone (Heka stored an overflowed value), and
//!   `message_fields` entries are applied in key order (Heka: random order).
//! - Where xmlpath panicked — a `[path='literal']` comparison with a literal shorter than the
//!   node's text, `preceding-sibling` from an attribute or the root — the comparison is made
//!   or nothing is selected.
//! - An XML declaration's encoding is not checked: the payload is read as UTF-8 (Go refused a
//!   declared non-UTF-8 encoding); a payload that is not UTF-8 gives no captures.

mod document;
mod xmlpath;

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use serde::Deserialize;

use crate::support::captures::CaptureHelper;
use crate::support::template::MessageTemplate;
use document::Document;
use xmlpath::Path;

/// PayloadXmlDecoder options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PayloadXmlDecoderConfig {
    /// Capture names to XPath expressions.
    xpath_map: BTreeMap<String, String>,
    /// Severity names to numbers.
    severity_map: BTreeMap<String, i32>,
    /// Message template.
    message_fields: BTreeMap<String, String>,
    /// Go layout or `Epoch*` for the `Timestamp` capture.
    timestamp_layout: String,
    /// Zone of timestamps that carry none.
    timestamp_location: String,
}

impl Default for PayloadXmlDecoderConfig {
    fn default() -> Self {
        PayloadXmlDecoderConfig {
            xpath_map: BTreeMap::new(),
            severity_map: BTreeMap::new(),
            message_fields: BTreeMap::new(),
            // Heka compat: plugins/payload/payloadxml_decoder.go's default, a date (not a layout).
            timestamp_layout: "2012-04-23T18:25:43.511Z".to_string(),
            timestamp_location: String::new(),
        }
    }
}

/// Fills messages from XPath captures of their XML payload.
struct PayloadXmlDecoder {
    /// The expressions, in capture-index order.
    paths: Vec<Path>,
    timestamp_capture: Option<usize>,
    severity_capture: Option<usize>,
    /// The template, whose captures are indexes into `paths`.
    template: MessageTemplate,
    helper: CaptureHelper,
    /// Reused from one payload to the next.
    doc: Document,
    captures: Vec<Option<Bytes>>,
}

impl Decoder for PayloadXmlDecoder {
    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        self.captures.clear();
        self.captures.resize(self.paths.len(), None);
        if !self.paths.is_empty() {
            let payload = pack.message().payload_bytes();
            let parsed = std::str::from_utf8(payload)
                .ok()
                .is_some_and(|xml| self.doc.parse(xml).is_ok());
            if parsed {
                for (capture, path) in self.captures.iter_mut().zip(&self.paths) {
                    *capture = path.first_string(&self.doc).map(Bytes::from);
                }
            }
        }
        let msg = pack.message_mut();
        if let Some(v) = self
            .timestamp_capture
            .and_then(|i| self.captures[i].as_ref())
        {
            self.helper.decode_timestamp(msg, v);
        }
        if let Some(v) = self
            .severity_capture
            .and_then(|i| self.captures[i].as_ref())
        {
            self.helper.decode_severity(msg, v);
        }
        let captures = &self.captures;
        self.template.apply(msg, |i| captures[i].clone())?;
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: PayloadXmlDecoderConfig = ctx.options.parse()?;
    let mut paths = Vec::with_capacity(c.xpath_map.len());
    let mut names = HashMap::new();
    for (name, expr) in &c.xpath_map {
        let path = Path::compile(expr).map_err(|e| {
            ctx.error(
                Some("xpath_map"),
                format!("PayloadXmlDecoder: capture '{name}': {e}"),
            )
        })?;
        names.insert(name.clone(), paths.len());
        paths.push(path);
    }
    let helper = CaptureHelper::new(
        ctx,
        "PayloadXmlDecoder",
        &c.timestamp_layout,
        &c.timestamp_location,
        c.severity_map,
    )?;
    let timestamp_capture = names.get("Timestamp").copied();
    // The Severity capture is consumed before the template is applied.
    let severity_capture = names.remove("Severity");
    Ok(Box::new(PayloadXmlDecoder {
        captures: Vec::with_capacity(paths.len()),
        paths,
        timestamp_capture,
        severity_capture,
        template: MessageTemplate::compile(&c.message_fields, &names),
        helper,
        doc: Document::default(),
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "PayloadXmlDecoder",
    summary: "Reads values out of an XML payload with XPath and fills the message from them.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::{FieldValue, Message};

    fn build_from(options: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        crate::support::testing::build(SPEC.build, "d", "PayloadXmlDecoder", options)
    }

    const BEFORE: i64 = 12_345;

    fn decode(d: &mut dyn Decoder, payload: &str) -> (Result<Decoded, CodecError>, Message) {
        let mut m = Message::new_now();
        m.timestamp = BEFORE;
        m.set_payload(payload.to_string());
        let mut p = Pack::new(m);
        p.ensure_encoded();
        let mut extra = Vec::new();
        let r = d.decode(&mut p, &mut extra);
        assert!(extra.is_empty());
        if r == Ok(Decoded::Keep) {
            assert!(
                p.raw().is_none(),
                "a changed message must drop its encoding"
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

    /// Heka's payload_decoder_test.go, "A PayloadXmlDecoder decodes simple messages" (its
    /// document has `qualificati` elements, as it does there).
    #[test]
    fn heka_simple_messages() {
        let xml = r#"<library>
    <!-- Great book. -->
    <book id="b0836217462" available="true">
        <isbn>0836217462</isbn>
        <title lang="en">Being a Dog Is a Full-Time Job</title>
        <quote>I'd dog paddle the deepest ocean.</quote>
        <author id="CMS">
            <?echo "go rocks"?>
            <name>Charles M Schulz</name>
            <born>1922-11-26</born>
            <dead>2000-02-12</dead>
        </author>
        <character id="PP">
            <name>Peppermint Patty</name>
            <born>1966-08-22</born>
            <qualificati>bold, brash and tomboyish</qualificati>
        </character>
        <character id="Snoopy">
            <name>Snoopy</name>
            <born>1950-10-04</born>
            <qualificati>extroverted beagle</qualificati>
        </character>
    </book>
</library>"#;
        let mut d = build_from(
            r#"
[d.xpath_map]
Isbn = "library/*/isbn"
Name = "/library/book/character[born='1950-10-04']/name"
Patty = "/library/book//node()[@id='PP']/name"
Title = "//book[author/@id='CMS']/title"
Comment = "/library/book/preceding::comment()"
[d.message_fields]
Isbn = "%Isbn%"
Name = "%Name%"
Patty = "%Patty%"
Title = "%Title%"
Comment = "%Comment%"
"#,
        )
        .unwrap();
        let (r, m) = decode(&mut *d, xml);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(field(&m, "Isbn"), Some(&b"0836217462"[..]));
        assert_eq!(field(&m, "Name"), Some(&b"Snoopy"[..]));
        assert_eq!(field(&m, "Patty"), Some(&b"Peppermint Patty"[..]));
        assert_eq!(
            field(&m, "Title"),
            Some(&b"Being a Dog Is a Full-Time Job"[..])
        );
        assert_eq!(field(&m, "Comment"), Some(&b" Great book. "[..]));
        assert_eq!(m.payload_bytes(), xml.as_bytes(), "untouched");
        assert_eq!(m.fields.len(), 5);
    }

    const EVENT: &str = r#"
[d.xpath_map]
Timestamp = "/event/@time"
Severity = "/event/level"
Host = "/event/host"
Pid = "/event/pid"
Missing = "/event/nothing"
[d.severity_map]
warning = 4
[d.message_fields]
Hostname = "%Host%"
Pid = "%Pid%"
Logger = "xml"
Sev = "%Severity%"
"Where|text" = "%Host%/%Missing%/%Unknown%"
"#;

    #[test]
    fn timestamp_severity_and_template() {
        let mut d = build_from(EVENT).unwrap();
        let (r, m) = decode(
            &mut *d,
            "<event time='2015-10-07T18:47:00Z'><level>warning</level><host>db1</host>\
             <pid>4711</pid></event>",
        );
        assert_eq!(r, Ok(Decoded::Keep));
        // The default layout is no layout; RFC 3339 among the named ones takes the value.
        assert_eq!(m.timestamp, 1_444_243_620_000_000_000);
        assert_eq!(m.severity, Some(4));
        assert_eq!(m.hostname_bytes(), b"db1");
        assert_eq!(m.pid, Some(4711));
        assert_eq!(m.logger_bytes(), b"xml");
        // The Severity capture is consumed; a capture that selected nothing is absent.
        assert_eq!(field(&m, "Sev"), Some(&b"<Severity>"[..]));
        let f = m.find_first_field(b"Where").unwrap();
        assert_eq!(f.representation_bytes(), b"text");
        assert_eq!(
            f.value(0),
            Some(FieldValue::String(&b"db1/<Missing>/<Unknown>"[..]))
        );

        // Unknown severity and timestamp are logged and left alone; a missing pid fails the
        // Pid template, as in Heka.
        let (r, m) = decode(
            &mut *d,
            "<event time='never'><level>loud</level><host>h</host><pid>7</pid></event>",
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!((m.timestamp, m.severity), (BEFORE, None));
        let (r, _) = decode(&mut *d, "<event><host>h</host></event>");
        assert_eq!(
            r,
            Err(CodecError::new(
                r#"strconv.ParseInt: parsing "<Pid>": invalid syntax"#
            ))
        );
    }

    #[test]
    fn a_payload_that_is_no_xml_gives_no_captures() {
        let mut d = build_from(
            "[d.xpath_map]\nA = '/a'\nRoot = '/'\n[d.message_fields]\nA = '%A%'\nRoot = '%Root%'",
        )
        .unwrap();
        for payload in ["<a>unclosed", "<a>&nbsp;</a>", "plain text"] {
            let (r, m) = decode(&mut *d, payload);
            assert_eq!(r, Ok(Decoded::Keep));
            assert_eq!(field(&m, "A"), Some(&b"<A>"[..]), "{payload}");
        }
        let (_, m) = decode(&mut *d, "<a>1</a>");
        assert_eq!(field(&m, "A"), Some(&b"1"[..]));
        assert_eq!(field(&m, "Root"), Some(&b"1"[..]));
        // Not UTF-8.
        let mut m = Message::new_now();
        m.set_payload(&b"<a>\xff</a>"[..]);
        let mut p = Pack::new(m);
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        assert_eq!(field(p.message(), "A"), Some(&b"<A>"[..]));
    }

    #[test]
    fn epoch_timestamps() {
        let mut d =
            build_from("timestamp_layout = 'EpochMilli'\n[d.xpath_map]\nTimestamp = '//@ms'")
                .unwrap();
        let (_, m) = decode(&mut *d, "<e ms='1444243620123'/>");
        assert_eq!(m.timestamp, 1_444_243_620_123_000_000);
    }

    #[test]
    fn config_errors() {
        let err = |opts: &str| {
            build_from(opts)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let e = err("[d.xpath_map]\nX = '/foo)'");
        assert!(
            e.contains(
                r#"PayloadXmlDecoder: capture 'X': compiling xml path "/foo)":4: unexpected ')'"#
            ),
            "{e}"
        );
        assert!(err("[d.xpath_map]\nX = ''").contains("empty path"));
        assert!(
            err("timestamp_location = 'Mars/Olympus'")
                .contains("PayloadXmlDecoder unknown timestamp_location 'Mars/Olympus'")
        );
        assert!(err("timestamp_layout = 'EpochDays'").contains("Epoch"));
        assert!(!err("match_regex = 'x'").is_empty());
        assert!(err("").is_empty());
    }
}
