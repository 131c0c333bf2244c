//! GeoIpDecoder: looks up the IP address in a message field in a GeoLite2/GeoIP2 City
//! database and adds what it finds as a JSON field, in the layout of Heka's GeoIpDecoder.
//!
//! ```toml
//! [geo]
//! type = "GeoIpDecoder"
//! db_file = "/var/lib/GeoIP/GeoLite2-City.mmdb"
//! source_ip_field = "remote_addr"
//! target_field = "geoip"
//! ```
//!
//! Options:
//! - `db_file` (default `<share_dir>/GeoLite2-City.mmdb`): a MaxMind DB file with GeoIP2 City
//!   records (GeoLite2-City, GeoIP2-City, or any database in their layout; a Country database
//!   works too, without city, region, postal code and coordinates). A relative path is taken
//!   from `share_dir`. The file is read when the config loads; one copy serves every input
//!   connection while the file is unchanged.
//! - `source_ip_field` (required): the field holding the address (a string field; IPv4 or
//!   IPv6 text).
//! - `target_field` (default `"geoip"`): the bytes field added.
//!
//! A message without the source field, with a value that is no string or no address, or with
//! an address the database has no record for (private addresses…) passes unchanged. Otherwise
//! a bytes field `target_field` is appended with, for example:
//!
//! ```json
//! {"latitude":37.751,"longitude":-97.822,"location":[-97.822,37.751],"coordinates":["-97.822","37.751"],"countrycode":"US","countrycode3":"USA","countryname":"United States","region":"CA","city":"Mountain View","postalcode":"94043","areacode":0,"charset":1,"continentcode":"NA"}
//! ```
//!
//! Use it with the ElasticSearch encoders as `raw_bytes_fields = ["geoip"]`. Where the keys
//! come from in the database record, whose names are English (`names.en`):
//!
//! | key | record | when absent |
//! |---|---|---|
//! | `latitude`, `longitude` (and `location`, `coordinates`) | `location.latitude`, `location.longitude` | `0` |
//! | `countrycode` | `country.iso_code`, else `registered_country.iso_code` | `""` |
//! | `countrycode3` | the ISO 3166-1 alpha-3 code of `countrycode` (not in the database) | `""` |
//! | `countryname` | `country.names.en`, else `registered_country.names.en` | `""` |
//! | `region` | `subdivisions[0].iso_code` (the largest subdivision) | `""` |
//! | `city` | `city.names.en` | `""` |
//! | `postalcode` | `postal.code` | `""` |
//! | `areacode` | not in the database (telephone area codes were only in the legacy US data) | always `0` |
//! | `charset` | not in the database; its strings are UTF-8, which Heka's `1` meant | always `1` |
//! | `continentcode` | `continent.code` | `""` |
//!
//! Coordinates are written as Heka wrote them — Go's `FormatFloat(v, 'g', 16, …)` layout, a
//! plain decimal for any latitude or longitude — with the digits the database holds: GeoIP2
//! databases store doubles, written as the shortest text that reads back as the same double
//! (`37.751`); a database storing 32-bit floats, as the legacy one did, gives Heka's 16
//! digits of the float (`37.4192008972168`).
//!
//! Differences from Heka (see docs/differences.md):
//! - Heka read the legacy GeoIP City format (`GeoLiteCity.dat`, through libGeoIP), which
//!   MaxMind no longer publishes; this reads the MaxMind DB format of GeoLite2/GeoIP2. So the
//!   default `db_file` is `GeoLite2-City.mmdb` (Heka: `GeoLiteCity.dat`), `areacode` is
//!   always 0, `region` is the ISO 3166-2 subdivision code (the legacy data gave FIPS 10-4
//!   codes outside the US and Canada), coordinates are the database's doubles rather than
//!   16 digits of a float (`37.4192`, not `37.4192008972168`), and IPv6 addresses are looked
//!   up (libGeoIP's record lookup took IPv4 only).
//! - Strings are JSON-escaped (Heka wrote them raw, so a `"` in a name broke the JSON).
//! - A relative `db_file` is taken from `share_dir` (Heka opened it from hekad's working
//!   directory); a database that cannot be read is a config error naming it.

mod iso3166;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use bytes::Bytes;
use heka_message::{Field, FieldValue, MessageView};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use maxminddb::Reader;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The default `db_file`, in `share_dir`.
const DEFAULT_DB_FILE: &str = "GeoLite2-City.mmdb";

/// GeoIpDecoder options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct GeoIpDecoderConfig {
    /// The database file (relative: in `share_dir`).
    db_file: String,
    /// The field holding the address.
    source_ip_field: String,
    /// The field added.
    target_field: String,
}

impl Default for GeoIpDecoderConfig {
    fn default() -> Self {
        GeoIpDecoderConfig {
            db_file: DEFAULT_DB_FILE.to_string(),
            source_ip_field: String::new(),
            target_field: "geoip".to_string(),
        }
    }
}

type Database = Reader<Vec<u8>>;

/// A database read from a file, with the file's size and modification time then.
struct Cached {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    db: Weak<Database>,
}

/// The databases read so far: every connection's decoder is built anew, and a City database
/// is tens of megabytes.
static DATABASES: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// The database at `path`: the copy already read if the file has not changed since.
fn open_database(path: &Path) -> Result<Arc<Database>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    let mut cache = DATABASES.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|c| c.db.strong_count() > 0);
    let cached = cache
        .iter()
        .find(|c| c.path == path && c.len == len && c.modified == modified)
        .and_then(|c| c.db.upgrade());
    if let Some(db) = cached {
        return Ok(db);
    }
    let db = Arc::new(Reader::open_readfile(path).map_err(|e| e.to_string())?);
    cache.push(Cached {
        path: path.to_path_buf(),
        len,
        modified,
        db: Arc::downgrade(&db),
    });
    Ok(db)
}

/// The parts of a GeoIP2 City record the JSON is made from.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CityRecord<'a> {
    #[serde(borrow)]
    city: Named<'a>,
    #[serde(borrow)]
    continent: Continent<'a>,
    #[serde(borrow)]
    country: Country<'a>,
    #[serde(borrow)]
    registered_country: Country<'a>,
    location: Location,
    #[serde(borrow)]
    postal: Postal<'a>,
    #[serde(borrow)]
    subdivisions: Vec<Subdivision<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Names<'a> {
    en: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    names: Names<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Continent<'a> {
    code: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Country<'a> {
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Names<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    latitude: Option<Coordinate>,
    longitude: Option<Coordinate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Postal<'a> {
    code: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Subdivision<'a> {
    iso_code: Option<&'a str>,
}

/// A coordinate as the database stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Coordinate {
    /// A double (GeoIP2 databases).
    Double(f64),
    /// A 32-bit float (as the legacy database held them).
    Float(f32),
}

impl<'de> Deserialize<'de> for Coordinate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Coordinate, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Coordinate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_f32<E: de::Error>(self, v: f32) -> Result<Coordinate, E> {
                Ok(Coordinate::Float(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Coordinate, E> {
                Ok(Coordinate::Double(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Coordinate, E> {
                Ok(Coordinate::Double(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Coordinate, E> {
                Ok(Coordinate::Double(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl Coordinate {
    /// The text Heka's layout gives it.
    fn text(self) -> String {
        match self {
            // Heka compat: plugins/geoip/geoip_decoder.go, FormatFloat(float64(v), 'g', 16, 32).
            Coordinate::Float(f) => {
                let e = format!("{:.15e}", f64::from(f));
                go_g16(&e)
            }
            Coordinate::Double(d) => go_g16(&format!("{d:e}")),
        }
    }
}

/// Go's `FormatFloat(v, 'g', 16, _)` layout of a number given in Rust's `{:e}` form (its
/// digits already rounded): a plain decimal unless the exponent is below -4 or at least 16,
/// trailing zeros dropped.
fn go_g16(e: &str) -> String {
    let (mantissa, exp) = e.split_once('e').unwrap_or((e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let nd = digits.iter().rposition(|d| *d != b'0').map_or(0, |i| i + 1);
    let digits = &digits[..nd];
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if nd == 0 {
        out.push('0');
        return out;
    }
    let dp = exp + 1;
    let eprec = if 16 > nd && nd as i32 >= dp {
        nd as i32
    } else {
        16
    };
    if exp < -4 || exp >= eprec {
        out.push(digits[0] as char);
        if nd > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|&d| d as char));
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.abs());
        return out;
    }
    let digit = |i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |&d| d as char)
    };
    if dp > 0 {
        out.extend((0..dp).map(digit));
    } else {
        out.push('0');
    }
    let decimals = nd as i32 - dp;
    if decimals > 0 {
        out.push('.');
        out.extend((dp..dp + decimals).map(digit));
    }
    out
}

/// A JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// The JSON of a record, in Heka's layout.
fn geo_json(r: &CityRecord<'_>) -> String {
    let coord = |c: Option<Coordinate>| c.map_or_else(|| "0".to_string(), Coordinate::text);
    let lat = coord(r.location.latitude);
    let lon = coord(r.location.longitude);
    let country_code = r
        .country
        .iso_code
        .or(r.registered_country.iso_code)
        .unwrap_or_default();
    let country_name = r
        .country
        .names
        .en
        .or(r.registered_country.names.en)
        .unwrap_or_default();
    let mut out = String::with_capacity(320);
    let _ = write!(
        out,
        r#"{{"latitude":{lat},"longitude":{lon},"location":[{lon},{lat}],"coordinates":["{lon}","{lat}"],"countrycode":"#
    );
    json_string(&mut out, country_code);
    out.push_str(r#","countrycode3":"#);
    json_string(&mut out, iso3166::alpha3(country_code).unwrap_or_default());
    out.push_str(r#","countryname":"#);
    json_string(&mut out, country_name);
    out.push_str(r#","region":"#);
    let region = r.subdivisions.first().and_then(|s| s.iso_code);
    json_string(&mut out, region.unwrap_or_default());
    out.push_str(r#","city":"#);
    json_string(&mut out, r.city.names.en.unwrap_or_default());
    out.push_str(r#","postalcode":"#);
    json_string(&mut out, r.postal.code.unwrap_or_default());
    out.push_str(r#","areacode":0,"charset":1,"continentcode":"#);
    json_string(&mut out, r.continent.code.unwrap_or_default());
    out.push('}');
    out
}

/// Adds geographical data to messages.
struct GeoIpDecoder {
    name: String,
    db: Arc<Database>,
    source_field: Bytes,
    target_field: Bytes,
}

impl GeoIpDecoder {
    /// The JSON for `ip`, or `None` if the database has no record of it.
    fn lookup(&self, ip: IpAddr) -> Option<Bytes> {
        let found = match self.db.lookup(ip) {
            Ok(found) => found,
            // An IPv6 address in an IPv4-only database.
            Err(_) => return None,
        };
        match found.decode::<CityRecord<'_>>() {
            Ok(record) => record.map(|r| Bytes::from(geo_json(&r))),
            Err(e) => {
                tracing::error!(decoder = %self.name, "GeoIP record of {ip} unreadable: {e}");
                None
            }
        }
    }
}

impl Decoder for GeoIpDecoder {
    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        // Read in place: a message that passes unchanged is not decoded.
        let ip = match pack.view().field_value(&self.source_field, 0, 0) {
            Some(FieldValue::String(s)) => std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok()),
            _ => None,
        };
        let Some(ip) = ip else {
            return Ok(Decoded::Keep);
        };
        if let Some(json) = self.lookup(ip) {
            pack.message_mut()
                .add_field(Field::new_bytes(self.target_field.clone(), json));
        }
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: GeoIpDecoderConfig = ctx.options.parse()?;
    // Heka compat: plugins/geoip/geoip_decoder.go's error texts.
    if c.source_ip_field.is_empty() {
        return Err(ctx.error(
            Some("source_ip_field"),
            "`source_ip_field` must be specified",
        ));
    }
    if c.target_field.is_empty() {
        return Err(ctx.error(Some("target_field"), "`target_field` must be specified"));
    }
    let path = ctx.globals.share_dir.join(&c.db_file);
    let db = open_database(&path).map_err(|e| {
        ctx.error(
            Some("db_file"),
            format!("Could not open GeoIP database '{}': {e}", path.display()),
        )
    })?;
    Ok(Box::new(GeoIpDecoder {
        name: ctx.name.to_string(),
        db,
        source_field: Bytes::from(c.source_ip_field),
        target_field: Bytes::from(c.target_field),
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "GeoIpDecoder",
    summary: "Looks up an address field in a GeoIP2 City database and adds a JSON geo field.",
    build,
};

/// The test database (`testdata/geoip/GeoLite2-City-Test.mmdb`) and its writer.
#[cfg(test)]
pub(crate) mod testdb {
    use crate::support::mmdb_writer::{MmdbWriter, Value, map, s};

    fn names(en: &str) -> Value {
        map([("de", s(&format!("{en} (de)"))), ("en", s(en))])
    }

    /// A record in the layout of GeoLite2-City's.
    fn city(
        city: &str,
        (continent, continent_name): (&str, &str),
        (country, country_name): (&str, &str),
        (lat, lon): (Value, Value),
        postal: &str,
        region: &str,
    ) -> Value {
        map([
            (
                "city",
                map([
                    ("geoname_id", Value::U32(5_375_480)),
                    ("names", names(city)),
                ]),
            ),
            (
                "continent",
                map([("code", s(continent)), ("names", names(continent_name))]),
            ),
            (
                "country",
                map([("iso_code", s(country)), ("names", names(country_name))]),
            ),
            (
                "location",
                map([
                    ("accuracy_radius", Value::U16(1000)),
                    ("latitude", lat),
                    ("longitude", lon),
                    ("metro_code", Value::U16(807)),
                    ("time_zone", s("America/Los_Angeles")),
                ]),
            ),
            ("postal", map([("code", s(postal))])),
            (
                "registered_country",
                map([("iso_code", s(country)), ("names", names(country_name))]),
            ),
            (
                "subdivisions",
                Value::Array(vec![map([
                    ("iso_code", s(region)),
                    ("names", names("Region")),
                ])]),
            ),
        ])
    }

    /// The test database:
    /// - 74.125.142.0/24 (Heka's test address 74.125.142.147): Mountain View, doubles;
    /// - 192.0.2.0/24: Heka's test record, with 32-bit float coordinates as libGeoIP had them;
    /// - 198.51.100.0/24: a city whose name has a quote;
    /// - 2001:db8::/32: a record with a registered country only, no city or coordinates.
    pub(crate) fn build() -> Vec<u8> {
        let us = ("US", "United States");
        let na = ("NA", "North America");
        MmdbWriter::new("GeoLite2-City", "Heka test database", 1_444_243_620)
            .insert(
                "74.125.142.0".parse().unwrap(),
                24,
                city(
                    "Mountain View",
                    na,
                    us,
                    (Value::Double(37.4192), Value::Double(-122.0574)),
                    "94043",
                    "CA",
                ),
            )
            .insert(
                "192.0.2.0".parse().unwrap(),
                24,
                city(
                    "Mountain View",
                    na,
                    us,
                    (Value::Float(37.4192), Value::Float(-122.0574)),
                    "94043",
                    "CA",
                ),
            )
            .insert(
                "198.51.100.0".parse().unwrap(),
                24,
                city(
                    "Quote \"City\"",
                    ("EU", "Europe"),
                    ("FR", "France"),
                    (Value::Double(48.8566), Value::Double(2.3522)),
                    "75001",
                    "IDF",
                ),
            )
            .insert(
                "2001:db8::".parse().unwrap(),
                32,
                map([
                    (
                        "continent",
                        map([("code", s("EU")), ("names", names("Europe"))]),
                    ),
                    (
                        "registered_country",
                        map([("iso_code", s("DE")), ("names", names("Germany"))]),
                    ),
                ]),
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Message;

    /// The test database, as the repository holds it.
    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/geoip/GeoLite2-City-Test.mmdb")
    }

    /// The database in `testdata/` is what the writer makes (`HEKA_WRITE_TESTDATA=1` rewrites
    /// it).
    #[test]
    fn testdata_database_is_current() {
        let want = testdb::build();
        let path = testdata();
        if std::env::var_os("HEKA_WRITE_TESTDATA").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read(&path).unwrap_or_default();
        assert!(
            got == want,
            "{} is stale: run this test with HEKA_WRITE_TESTDATA=1",
            path.display()
        );
        let db = Reader::from_source(got).unwrap();
        db.verify().unwrap();
    }

    fn build_with(db: &Path, options: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        crate::support::testing::build(
            SPEC.build,
            "geo",
            "GeoIpDecoder",
            &format!("db_file = '{}'\n{options}", db.display()),
        )
    }

    /// The message after decoding; one that passed unchanged keeps its trusted encoding.
    fn decode(d: &mut dyn Decoder, field: Field) -> Message {
        let mut m = Message::new_now();
        m.add_field(field);
        let mut p = Pack::new(m);
        p.ensure_encoded();
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        let changed = p.message().fields.len() > 1;
        assert_eq!(p.raw().is_none(), changed);
        p.into_message()
    }

    fn geo(m: &Message, name: &str) -> Option<String> {
        match m.field_value(name.as_bytes()) {
            Some(Some(FieldValue::Bytes(b))) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// Heka's geoip_decoder_test.go vector: its record, with 32-bit float coordinates as
    /// libGeoIP gave them, comes out as Heka wrote it, except `areacode` (not in GeoIP2 data).
    #[test]
    fn heka_test_vector() {
        let mut d = build_with(&testdata(), "source_ip_field = 'remote_host'").unwrap();
        let m = decode(&mut *d, Field::new_string("remote_host", "192.0.2.7"));
        let heka = r#"{"latitude":37.4192008972168,"longitude":-122.0574035644531,"location":[-122.0574035644531,37.4192008972168],"coordinates":["-122.0574035644531","37.4192008972168"],"countrycode":"US","countrycode3":"USA","countryname":"United States","region":"CA","city":"Mountain View","postalcode":"94043","areacode":650,"charset":1,"continentcode":"NA"}"#;
        assert_eq!(
            geo(&m, "geoip"),
            Some(heka.replace(r#""areacode":650"#, r#""areacode":0"#))
        );
        let f = m.find_first_field(b"geoip").unwrap();
        assert_eq!(f.representation_bytes(), b"");
    }

    #[test]
    fn lookups() {
        let mut d = build_with(
            &testdata(),
            "source_ip_field = 'ip'\ntarget_field = 'where'",
        )
        .unwrap();
        // GeoIP2's doubles, written as they are stored.
        let m = decode(&mut *d, Field::new_string("ip", "74.125.142.147"));
        assert_eq!(
            geo(&m, "where").as_deref(),
            Some(
                r#"{"latitude":37.4192,"longitude":-122.0574,"location":[-122.0574,37.4192],"coordinates":["-122.0574","37.4192"],"countrycode":"US","countrycode3":"USA","countryname":"United States","region":"CA","city":"Mountain View","postalcode":"94043","areacode":0,"charset":1,"continentcode":"NA"}"#
            )
        );
        assert_eq!(m.fields.len(), 2);
        // Strings are escaped; IPv6; a record without city or coordinates.
        let m = decode(&mut *d, Field::new_string("ip", "198.51.100.1"));
        assert!(
            geo(&m, "where")
                .unwrap()
                .contains(r#""city":"Quote \"City\"","#)
        );
        let m = decode(&mut *d, Field::new_string("ip", "2001:db8::1"));
        assert_eq!(
            geo(&m, "where").as_deref(),
            Some(
                r#"{"latitude":0,"longitude":0,"location":[0,0],"coordinates":["0","0"],"countrycode":"DE","countrycode3":"DEU","countryname":"Germany","region":"","city":"","postalcode":"","areacode":0,"charset":1,"continentcode":"EU"}"#
            )
        );
        // Passed unchanged: no record, no address, no string, no field.
        for field in [
            Field::new_string("ip", "10.0.0.1"),
            Field::new_string("ip", "::1"),
            Field::new_string("ip", "not an address"),
            Field::new_string("ip", " 74.125.142.147"),
            Field::new_bytes("ip", "74.125.142.147"),
            Field::new_integer("ip", 7),
            Field::new_string("other", "74.125.142.147"),
        ] {
            let m = decode(&mut *d, field);
            assert_eq!(m.fields.len(), 1, "{m:?}");
        }
    }

    #[test]
    fn one_copy_of_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.mmdb");
        std::fs::write(&path, testdb::build()).unwrap();
        let a = open_database(&path).unwrap();
        let b = open_database(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // A changed file is read again.
        let other = crate::support::mmdb_writer::MmdbWriter::new("X", "x", 1).build();
        std::fs::write(&path, other).unwrap();
        let c = open_database(&path).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.metadata().database_type, "X");
    }

    #[test]
    fn coordinates() {
        let f = |v: f32| Coordinate::Float(v).text();
        let d = |v: f64| Coordinate::Double(v).text();
        assert_eq!(f(37.4192), "37.4192008972168");
        assert_eq!(f(-122.0574), "-122.0574035644531");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(100.0), "100");
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(1e-5), "9.999999747378752e-06");
        assert_eq!(d(37.751), "37.751");
        assert_eq!(d(-97.822), "-97.822");
        assert_eq!(d(9.95), "9.95");
        assert_eq!(d(180.0), "180");
        assert_eq!(d(0.0001), "0.0001");
        assert_eq!(d(0.00001), "1e-05");
        assert_eq!(d(-0.123_456_789_012_345_68), "-0.12345678901234568");
        assert_eq!(d(1e20), "1e+20");
        assert_eq!(d(0.0), "0");
    }

    #[test]
    fn config_errors() {
        let err = |db: &Path, opts: &str| {
            build_with(db, opts)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let db = testdata();
        assert!(err(&db, "").contains("`source_ip_field` must be specified"));
        assert!(
            err(&db, "source_ip_field = 'ip'\ntarget_field = ''")
                .contains("`target_field` must be specified")
        );
        let missing = Path::new("/nonexistent/GeoLite2-City.mmdb");
        assert!(
            err(missing, "source_ip_field = 'ip'")
                .contains("Could not open GeoIP database '/nonexistent/GeoLite2-City.mmdb'")
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mmdb");
        std::fs::write(&junk, b"not a database").unwrap();
        assert!(err(&junk, "source_ip_field = 'ip'").contains("Could not open GeoIP database"));
        // The default is in share_dir, as a relative db_file is.
        let e = crate::support::testing::build_section(
            SPEC.build,
            crate::support::testing::TestSection {
                name: "geo",
                type_name: "GeoIpDecoder",
                options: "source_ip_field = 'ip'",
                hekad: "share_dir = '/nonexistent/share'",
            },
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("'/nonexistent/share/GeoLite2-City.mmdb'"), "{e}");
        let d = crate::support::testing::build_section(
            SPEC.build,
            crate::support::testing::TestSection {
                name: "geo",
                type_name: "GeoIpDecoder",
                options: "source_ip_field = 'ip'\ndb_file = 'geoip/GeoLite2-City-Test.mmdb'",
                hekad: &format!(
                    "share_dir = '{}'",
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../../testdata")
                        .display()
                ),
            },
        );
        assert!(d.is_ok());
    }
}
