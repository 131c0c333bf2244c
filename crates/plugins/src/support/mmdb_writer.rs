//! A small writer of MaxMind DB files (the format of GeoLite2 and GeoIP2 databases), for tests:
//! GeoIpDecoder's tests and the test database in `testdata/geoip/` are made with it.
//!
//! The format (MaxMind DB File Format Specification, version 2.0): a binary search tree over
//! the bits of an IPv6 address (IPv4 networks live under `::/96`), each node two records of
//! `record_size` bits — a node number, "no data" (the node count), or a pointer into the data
//! section (node count + 16 + offset); then 16 zero bytes; then the data section, values
//! encoded as a control byte (type in the top three bits, size in the low five) with extended
//! types and sizes in the bytes after it; then `\xAB\xCD\xEFMaxMind.com` and the metadata map.
//! This writer makes 24-bit records, writes every value in full (no pointers), and does not
//! merge or split overlapping networks.

use std::net::IpAddr;

/// A data-section value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Double(f64),
    Float(f32),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Array(Vec<Value>),
    /// A map, keys in this order.
    Map(Vec<(String, Value)>),
}

/// A map value from `(key, value)` pairs.
pub(crate) fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A string value.
pub(crate) fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// A database being written.
#[derive(Debug, Clone)]
pub(crate) struct MmdbWriter {
    database_type: String,
    description: String,
    build_epoch: u64,
    networks: Vec<(IpAddr, u8, Value)>,
}

/// A search-tree record while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

const MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

impl MmdbWriter {
    /// A database of type `database_type` (`GeoLite2-City`…).
    pub(crate) fn new(database_type: &str, description: &str, build_epoch: u64) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.to_string(),
            description: description.to_string(),
            build_epoch,
            networks: Vec::new(),
        }
    }

    /// Adds the network `ip`/`prefix` with its record.
    pub(crate) fn insert(&mut self, ip: IpAddr, prefix: u8, record: Value) -> &mut MmdbWriter {
        self.networks.push((ip, prefix, record));
        self
    }

    /// The database file.
    pub(crate) fn build(&self) -> Vec<u8> {
        let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
        for (i, (ip, prefix, _)) in self.networks.iter().enumerate() {
            let (bits, depth) = match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(*v4)), 96 + usize::from(*prefix)),
                IpAddr::V6(v6) => (u128::from(*v6), usize::from(*prefix)),
            };
            assert!((1..=128).contains(&depth), "prefix out of range");
            let mut node = 0;
            for d in 0..depth {
                let bit = usize::from(bits >> (127 - d) & 1 == 1);
                if d + 1 == depth {
                    nodes[node][bit] = Record::Data(i);
                } else {
                    node = match nodes[node][bit] {
                        Record::Node(n) => n,
                        Record::Empty => {
                            nodes.push([Record::Empty; 2]);
                            let n = nodes.len() - 1;
                            nodes[node][bit] = Record::Node(n);
                            n
                        }
                        Record::Data(_) => panic!("overlapping networks"),
                    };
                }
            }
        }
        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for (_, _, record) in &self.networks {
            offsets.push(data.len());
            encode(record, &mut data);
        }
        let count = nodes.len();
        let mut out = Vec::new();
        for node in &nodes {
            for r in node {
                let v = match *r {
                    Record::Empty => count,
                    Record::Node(n) => n,
                    Record::Data(i) => count + 16 + offsets[i],
                };
                assert!(v < 1 << 24, "database too big for 24-bit records");
                out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(MARKER);
        let metadata = map([
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(self.build_epoch)),
            ("database_type", s(&self.database_type)),
            ("description", map([("en", s(&self.description))])),
            ("ip_version", Value::U16(6)),
            ("languages", Value::Array(vec![s("en")])),
            ("node_count", Value::U32(count as u32)),
            ("record_size", Value::U16(24)),
        ]);
        encode(&metadata, &mut out);
        out
    }
}

/// Appends the encoding of `v`.
fn encode(v: &Value, out: &mut Vec<u8>) {
    let uint = |n: u64, ty: u8, out: &mut Vec<u8>| {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        control(ty, bytes.len() - skip, out);
        out.extend_from_slice(&bytes[skip..]);
    };
    match v {
        Value::Str(s) => {
            control(2, s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(d) => {
            control(3, 8, out);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::U16(n) => uint(u64::from(*n), 5, out),
        Value::U32(n) => uint(u64::from(*n), 6, out),
        Value::Map(entries) => {
            control(7, entries.len(), out);
            for (k, v) in entries {
                encode(&Value::Str(k.clone()), out);
                encode(v, out);
            }
        }
        Value::U64(n) => uint(*n, 9, out),
        Value::Array(items) => {
            control(11, items.len(), out);
            for v in items {
                encode(v, out);
            }
        }
        Value::Bool(b) => control(14, usize::from(*b), out),
        Value::Float(f) => {
            control(15, 4, out);
            out.extend_from_slice(&f.to_be_bytes());
        }
    }
}

/// A control byte for type `ty` and size `size`, with the extended type and size bytes.
fn control(ty: u8, size: usize, out: &mut Vec<u8>) {
    let (bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if ty <= 7 {
        out.push(ty << 5 | bits);
    } else {
        out.push(bits);
        out.push(ty - 7);
    }
    out.extend_from_slice(&extra);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Rec {
        name: String,
        lat: f64,
        f: f32,
        n: u32,
        big: u64,
        ok: bool,
        list: Vec<u16>,
        long: String,
    }

    /// What the writer writes, maxminddb reads back and verifies.
    #[test]
    fn maxminddb_reads_what_is_written() {
        let long = "x".repeat(300);
        let rec = |name: &str| {
            map([
                ("name", s(name)),
                ("lat", Value::Double(37.4192)),
                ("f", Value::Float(-1.5)),
                ("n", Value::U32(650)),
                ("big", Value::U64(1 << 40)),
                ("ok", Value::Bool(true)),
                ("list", Value::Array(vec![Value::U16(0), Value::U16(300)])),
                ("long", s(&long)),
            ])
        };
        let db = MmdbWriter::new("Test-City", "a test", 1_700_000_000)
            .insert("74.125.142.0".parse().unwrap(), 24, rec("v4"))
            .insert("2001:db8::".parse().unwrap(), 32, rec("v6"))
            .insert("10.0.0.1".parse().unwrap(), 32, rec("host"))
            .build();
        let reader = maxminddb::Reader::from_source(db).unwrap();
        reader.verify().unwrap();
        let m = reader.metadata();
        assert_eq!(
            (
                m.database_type.as_str(),
                m.ip_version,
                m.record_size,
                m.build_epoch
            ),
            ("Test-City", 6, 24, 1_700_000_000)
        );
        assert_eq!(
            m.description,
            BTreeMap::from([("en".into(), "a test".into())])
        );
        let get = |ip: &str| {
            reader
                .lookup(ip.parse().unwrap())
                .unwrap()
                .decode::<Rec>()
                .unwrap()
        };
        let v4 = get("74.125.142.147").unwrap();
        assert_eq!(
            v4,
            Rec {
                name: "v4".into(),
                lat: 37.4192,
                f: -1.5,
                n: 650,
                big: 1 << 40,
                ok: true,
                list: vec![0, 300],
                long: long.clone(),
            }
        );
        assert_eq!(get("2001:db8:1::5").unwrap().name, "v6");
        assert_eq!(get("10.0.0.1").unwrap().name, "host");
        assert_eq!(get("10.0.0.2"), None);
        assert_eq!(get("74.125.143.1"), None);
        assert_eq!(get("::1"), None);
    }
}
