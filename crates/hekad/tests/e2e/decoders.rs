//! Decoders built from other decoders: TcpInput paragraphs → nested MultiDecoders (first-wins of
//! PayloadRegexDecoder and StatsToFieldsDecoder, then a ScribbleDecoder over everything) →
//! FileOutput. Decoders of structured payloads: JSON lines → JsonDecoder then GeoIpDecoder
//! (on the address JsonDecoder made a field of), XML lines → PayloadXmlDecoder.

use std::io::Write;
use std::net::TcpStream;

use heka_message::{FieldValue, Message};

use crate::support::*;

fn string<'a>(m: &'a Message, name: &str) -> Option<&'a [u8]> {
    match m.field_value(name.as_bytes()) {
        Some(Some(FieldValue::String(s))) => Some(s),
        _ => None,
    }
}

#[test]
fn multi_decoders_parse_tag_and_fall_through() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"

[lines]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "paragraphs"
decoder = "decode_all"

[paragraphs]
type = "RegexSplitter"
delimiter = '\n\n'

[decode_all]
type = "MultiDecoder"
subs = ["parse", "tag"]
cascade_strategy = "all"
log_sub_errors = true

[parse]
type = "MultiDecoder"
subs = ["access", "graphite"]

[access]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Method>[A-Z]+) (?P<Path>\S+) (?P<Status>\d+)'
[access.message_fields]
Type = "access"
Path = "%Path%"
"Status|code" = "%Status%"

[graphite]
type = "StatsToFieldsDecoder"

[tag]
type = "ScribbleDecoder"
[tag.message_fields]
Hostname = "e2e-host"
Env = "test"

[out]
type = "FileOutput"
message_matcher = "Logger == 'lines'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
    );
    let port = h.listening("lines");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(
        b"GET /a 200\n\nstat.x 1.5 1380047333\nstat.y 2 1380047334\n\nnot anything\n\nPOST /b 500\n\n",
    )
    .unwrap();
    let got = wait_framed(&h.path("out.log"), 5);
    assert_eq!(got.len(), 5, "{got:?}");
    for m in &got {
        assert_eq!(m.hostname_bytes(), b"e2e-host", "{m:?}");
        assert_eq!(string(m, "Env"), Some(&b"test"[..]), "{m:?}");
    }

    let get = &got[0];
    assert_eq!(get.type_bytes(), b"access");
    assert_eq!(get.payload_bytes(), b"GET /a 200");
    assert_eq!(string(get, "Path"), Some(&b"/a"[..]));
    let status = get.find_first_field(b"Status").unwrap();
    assert_eq!(status.representation_bytes(), b"code");
    assert_eq!(status.value(0), Some(FieldValue::String(b"200")));

    // The regex fails on the Graphite line, StatsToFieldsDecoder takes it; its second stat has
    // another timestamp, so it also comes as an extra message, tagged too.
    let stats = &got[1];
    assert_eq!(
        stats.field_value(b"stat.x"),
        Some(Some(FieldValue::Double(1.5)))
    );
    assert_eq!(
        stats.field_value(b"timestamp"),
        Some(Some(FieldValue::Integer(1_380_047_333)))
    );
    let extra = &got[2];
    assert_eq!(extra.payload_bytes(), b"");
    assert_eq!(
        extra.field_value(b"stat.y"),
        Some(Some(FieldValue::Double(2.0)))
    );
    assert_eq!(
        extra.field_value(b"timestamp"),
        Some(Some(FieldValue::Integer(1_380_047_334)))
    );
    assert_ne!(extra.uuid, stats.uuid);

    // Neither parser takes it, the scribble still applies, so the message goes on.
    let other = &got[3];
    assert_eq!(other.payload_bytes(), b"not anything");
    assert_eq!(other.fields.len(), 1, "{other:?}");

    assert_eq!(string(&got[4], "Path"), Some(&b"/b"[..]));

    assert!(h.stop().success(), "{}", h.stderr());
    let log = h.stdout() + &h.stderr();
    assert!(
        log.contains("Subdecoder 'parse' decode error: All subdecoders failed."),
        "{log}"
    );
}

#[test]
fn multi_decoder_config_errors_stop_hekad_test() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.toml");
    std::fs::write(
        &p,
        r#"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "PatternGroupingSplitter"
decoder = "a"
[a]
type = "MultiDecoder"
subs = ["b"]
[b]
type = "MultiDecoder"
subs = ["a", "missing"]
"#,
    )
    .unwrap();
    let (st, _, err) = run_hekad(&[&format!("-config={}", p.display()), "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("circular dependency detected"), "{err}");
}

#[test]
fn json_geoip_and_xml_decoders() {
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
share_dir = "{share}"

[json_in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "json_geo"

[xml_in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "xml"

[json_geo]
type = "MultiDecoder"
subs = ["json", "geo"]
cascade_strategy = "all"

[json]
type = "JsonDecoder"
[json.config]
type = "access"
map_fields = true
Hostname = "host"
Severity = "level"
Timestamp = "time"
timestamp_format = "%d/%b/%Y:%H:%M:%S %z"

[geo]
type = "GeoIpDecoder"
db_file = "geoip/GeoLite2-City-Test.mmdb"
source_ip_field = "client.ip"

[xml]
type = "PayloadXmlDecoder"
[xml.xpath_map]
Timestamp = "/event/@time"
Severity = "/event/level"
User = "//user[@role='admin']/name"
[xml.severity_map]
warning = 4
[xml.message_fields]
Type = "xml.event"
User = "%User%"

[out]
type = "FileOutput"
message_matcher = "Logger == 'json_in' || Logger == 'xml_in'"
path = "{{dir}}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        share = testdata.display()
    ));
    let json_port = h.listening("json_in");
    let xml_port = h.listening("xml_in");
    let mut c = TcpStream::connect(("127.0.0.1", json_port)).unwrap();
    c.write_all(
        concat!(
            r#"{"host":"web1","level":4,"time":"07/May/2014:17:12:24 +0200","#,
            r#""client":{"ip":"74.125.142.147","port":443},"tags":["a",null,true],"path":"/x"}"#,
            "\n",
        )
        .as_bytes(),
    )
    .unwrap();
    let mut x = TcpStream::connect(("127.0.0.1", xml_port)).unwrap();
    x.write_all(
        b"<event time='2015-10-07T18:47:00Z'><level>warning</level>\
          <user role='guest'><name>bob</name></user><user role='admin'><name>ann</name></user>\
          </event>\n",
    )
    .unwrap();
    let got = wait_framed(&h.path("out.log"), 2);
    assert_eq!(got.len(), 2, "{got:?}");
    let json = got.iter().find(|m| m.type_bytes() == b"access").unwrap();
    let xml = got.iter().find(|m| m.type_bytes() == b"xml.event").unwrap();

    assert_eq!(json.hostname_bytes(), b"web1");
    assert_eq!(json.severity, Some(4));
    assert_eq!(json.timestamp, 1_399_475_544_000_000_000);
    assert_eq!(json.logger_bytes(), b"json_in");
    assert_eq!(json.payload, None);
    let names: Vec<&[u8]> = json.fields.iter().map(|f| &f.name[..]).collect();
    assert_eq!(
        names,
        [
            &b"client.ip"[..],
            b"client.port",
            b"tags.1",
            b"tags.3",
            b"path",
            b"geoip"
        ]
    );
    assert_eq!(string(json, "client.ip"), Some(&b"74.125.142.147"[..]));
    assert_eq!(
        json.field_value(b"client.port"),
        Some(Some(FieldValue::Double(443.0)))
    );
    assert_eq!(
        json.field_value(b"tags.3"),
        Some(Some(FieldValue::Bool(true)))
    );
    assert_eq!(
        json.field_value(b"geoip"),
        Some(Some(FieldValue::Bytes(
            &br#"{"latitude":37.4192,"longitude":-122.0574,"location":[-122.0574,37.4192],"coordinates":["-122.0574","37.4192"],"countrycode":"US","countrycode3":"USA","countryname":"United States","region":"CA","city":"Mountain View","postalcode":"94043","areacode":0,"charset":1,"continentcode":"NA"}"#[..]
        )))
    );

    assert_eq!(xml.timestamp, 1_444_243_620_000_000_000);
    assert_eq!(xml.severity, Some(4));
    assert_eq!(string(xml, "User"), Some(&b"ann"[..]));
    assert_eq!(xml.logger_bytes(), b"xml_in");

    assert!(h.stop().success(), "{}", h.stderr());
}
