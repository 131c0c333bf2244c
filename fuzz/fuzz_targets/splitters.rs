//! Fuzzes the stream splitters (HekaFramingSplitter, TokenSplitter, RegexSplitter), built from
//! TOML through the built-in registry as hekad builds them, and driven as the stream runner
//! drives them.
//!
//! Input layout: three control bytes, then the setup's own bytes.
//!
//! * byte 0 selects the splitter and its config from [`SETUPS`] (or a TokenSplitter or
//!   RegexSplitter configured by the input itself, see [`setup`]);
//! * byte 1 is the largest chunk (minus one) the chunked pass feeds at a time;
//! * byte 2 seeds the generator of chunk sizes.
//!
//! Each stream is split twice by fresh splitters: whole (calling `find_record` on the rest of
//! the stream until nothing is consumed) and fed in chunks into a buffer that drops what each
//! call consumed. Checked on every call: `consumed <= buf.len()`; nothing consumed means no
//! record and no signer; a record lies within the consumed bytes; only a framing splitter with
//! signers names a signer, and only with a record. Per splitter:
//!
//! * HekaFramingSplitter consumes what `framing::scan` consumes, and a record is the message
//!   of the frame `scan` found (always delivered with `skip_authentication`);
//! * TokenSplitter does exactly what the model of [`token_split`] does;
//! * RegexSplitter: for delimiters that match every occurrence of some byte, no record holds
//!   that byte.
//!
//! Where a splitter's decisions can't depend on how the stream is cut (framing, tokens, fixed
//! length delimiters), both passes must find the same records at the same stream offsets.

#![no_main]

mod common;

use std::sync::OnceLock;

use heka_message::framing;
use heka_pipeline::config::Config;
use heka_pipeline::plugin::{Split, Splitter};
use libfuzzer_sys::fuzz_target;

/// What a setup's records must satisfy beyond the common checks.
#[derive(Debug, Clone, Copy)]
enum Model {
    /// HekaFramingSplitter with this `[hekad] max_message_size`; `signers` when some are
    /// configured, `skip` with `skip_authentication`.
    Framing { max: u32, signers: bool, skip: bool },
    /// TokenSplitter with this delimiter and count.
    Token { delimiter: u8, count: usize },
    /// RegexSplitter; no record may contain `never_in_record`.
    Regex { never_in_record: Option<u8> },
}

/// One splitter configuration.
struct Setup {
    type_name: &'static str,
    hekad: String,
    options: String,
    model: Model,
    /// Whether the records can't depend on how the stream is cut.
    chunk_stable: bool,
}

/// Signer keys of the framing setups; the framing seeds hold records signed with them.
const SIGNERS: &str = "[p.signer.test_1]\nhmac_key = \"xxx\"\n\
                       [p.signer.ops_3]\nhmac_key = \"secret\"\n\
                       [p.signer._0]\nhmac_key = \"\"\n";

/// Fixed configurations: `(type, [hekad] lines, options, model, chunk stable)`.
const SETUPS: &[(&str, &str, &str, Model, bool)] = &[
    (
        "HekaFramingSplitter",
        "",
        "",
        Model::Framing {
            max: heka_message::DEFAULT_MAX_MESSAGE_SIZE,
            signers: false,
            skip: false,
        },
        true,
    ),
    (
        "HekaFramingSplitter",
        "",
        SIGNERS,
        Model::Framing {
            max: heka_message::DEFAULT_MAX_MESSAGE_SIZE,
            signers: true,
            skip: false,
        },
        true,
    ),
    (
        "HekaFramingSplitter",
        "max_message_size = 1025",
        SIGNERS,
        Model::Framing {
            max: 1025,
            signers: true,
            skip: false,
        },
        true,
    ),
    (
        "HekaFramingSplitter",
        "",
        "skip_authentication = true\n[p.signer.test_1]\nhmac_key = \"xxx\"\n",
        Model::Framing {
            max: heka_message::DEFAULT_MAX_MESSAGE_SIZE,
            signers: true,
            skip: true,
        },
        true,
    ),
    (
        "TokenSplitter",
        "",
        "",
        Model::Token {
            delimiter: b'\n',
            count: 1,
        },
        true,
    ),
    (
        "TokenSplitter",
        "",
        "delimiter = \";\"\ncount = 3",
        Model::Token {
            delimiter: b';',
            count: 3,
        },
        true,
    ),
    (
        "RegexSplitter",
        "",
        "",
        Model::Regex {
            never_in_record: Some(b'\n'),
        },
        true,
    ),
    (
        "RegexSplitter",
        "",
        "delimiter = '\\n(\\d{4}-\\d{2}-\\d{2})'\ndelimiter_eol = false",
        Model::Regex {
            never_in_record: None,
        },
        true,
    ),
    (
        "RegexSplitter",
        "",
        "delimiter = '\\n(\\d{4}-\\d{2}-\\d{2})'\ndelimiter_eol = true",
        Model::Regex {
            never_in_record: None,
        },
        true,
    ),
    // The capture takes no part in a match at a newline without a digit after it.
    (
        "RegexSplitter",
        "",
        "delimiter = '\\n(\\d)?'\ndelimiter_eol = false",
        Model::Regex {
            never_in_record: Some(b'\n'),
        },
        false,
    ),
    (
        "RegexSplitter",
        "",
        "delimiter = ';\\s*'",
        Model::Regex {
            never_in_record: Some(b';'),
        },
        false,
    ),
    (
        "RegexSplitter",
        "",
        "delimiter = '(\\r?\\n)'\ndelimiter_eol = true",
        Model::Regex {
            never_in_record: None,
        },
        false,
    ),
];

/// The setup byte 0 selects, and the stream. Past [`SETUPS`] come two setups made from the
/// input: a TokenSplitter whose delimiter (an ASCII byte) and count (0–3; 0 acts as 1) are
/// the next two bytes, and a RegexSplitter whose `delimiter_eol` is the low bit of the next
/// byte and whose delimiter is the text up to the first NUL byte.
fn setup(selector: u8, rest: &[u8]) -> Option<(Setup, &[u8])> {
    let n = usize::from(selector) % (SETUPS.len() + 2);
    if let Some(&(type_name, hekad, options, model, chunk_stable)) = SETUPS.get(n) {
        let setup = Setup {
            type_name,
            hekad: hekad.to_string(),
            options: options.to_string(),
            model,
            chunk_stable,
        };
        return Some((setup, rest));
    }
    if n == SETUPS.len() {
        let [delimiter, count, stream @ ..] = rest else {
            return None;
        };
        let delimiter = delimiter & 0x7f;
        let count = count % 4;
        let text = char::from(delimiter).to_string();
        let setup = Setup {
            type_name: "TokenSplitter",
            hekad: String::new(),
            options: format!(
                "delimiter = {}\ncount = {count}",
                common::toml_string(&text)
            ),
            model: Model::Token {
                delimiter,
                count: usize::from(count.max(1)),
            },
            chunk_stable: true,
        };
        return Some((setup, stream));
    }
    let [eol, rest @ ..] = rest else {
        return None;
    };
    let end = rest.iter().position(|&b| b == 0)?;
    let delimiter = String::from_utf8_lossy(&rest[..end]);
    let setup = Setup {
        type_name: "RegexSplitter",
        hekad: String::new(),
        options: format!(
            "delimiter = {}\ndelimiter_eol = {}",
            common::toml_string(&delimiter),
            eol & 1 == 1
        ),
        model: Model::Regex {
            never_in_record: None,
        },
        chunk_stable: false,
    };
    Some((setup, &rest[end + 1..]))
}

/// The configs of [`SETUPS`], loaded once (the splitters are built afresh for every input).
fn fixed_configs() -> &'static [Config] {
    static LOADED: OnceLock<Vec<Config>> = OnceLock::new();
    LOADED.get_or_init(|| {
        SETUPS
            .iter()
            .map(|(type_name, hekad, options, _, _)| {
                match common::config(hekad, type_name, options) {
                    Ok(cfg) => cfg,
                    Err(e) => panic!("fixed setup {options:?} must load: {e}"),
                }
            })
            .collect()
    })
}

/// A record found: its stream offset, its bytes and its signer.
type Found = (usize, Vec<u8>, Option<Vec<u8>>);

/// The model of TokenSplitter: a record ends after the `count`-th delimiter.
fn token_split(buf: &[u8], delimiter: u8, count: usize) -> Split {
    let mut seen = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == delimiter {
            seen += 1;
            if seen == count {
                return Split {
                    consumed: i + 1,
                    record: Some(0..i + 1),
                    signer: None,
                };
            }
        }
    }
    Split::default()
}

/// Checks one `find_record` result on `buf`.
fn check(buf: &[u8], s: &Split, model: Model) {
    assert!(
        s.consumed <= buf.len(),
        "consumed {} of {} bytes",
        s.consumed,
        buf.len()
    );
    if s.consumed == 0 {
        assert_eq!(s.record, None, "a record without consuming anything");
        assert_eq!(s.signer, None, "a signer without consuming anything");
    }
    if let Some(r) = &s.record {
        assert!(
            r.start <= r.end && r.end <= s.consumed,
            "record {r:?} outside the {} consumed bytes",
            s.consumed
        );
    }
    if s.signer.is_some() {
        assert!(s.record.is_some(), "a signer without a record");
    }
    match model {
        Model::Framing { max, signers, skip } => {
            let scan = framing::scan(buf, max);
            assert_eq!(s.consumed, scan.consumed, "consumed differs from the scan");
            let message = scan.frame.map(|f| f.message);
            if s.record.is_some() || skip {
                assert_eq!(s.record, message, "the record is not the frame's message");
            }
            if !signers || skip {
                assert_eq!(s.signer, None, "a signer nobody configured");
            }
        }
        Model::Token { delimiter, count } => {
            assert_eq!(
                *s,
                token_split(buf, delimiter, count),
                "differs from the model"
            );
        }
        Model::Regex { never_in_record } => {
            assert_eq!(s.signer, None, "a regex splitter named a signer");
            if let (Some(b), Some(r)) = (never_in_record, &s.record) {
                assert!(
                    !buf[r.clone()].contains(&b),
                    "record {:?} holds a delimiter byte {b:#04x}",
                    String::from_utf8_lossy(&buf[r.clone()])
                );
            }
        }
    }
}

fn found(buf: &[u8], s: &Split, base: usize) -> Option<Found> {
    let r = s.record.clone()?;
    Some((
        base + r.start,
        buf[r].to_vec(),
        s.signer.as_ref().map(|b| b.to_vec()),
    ))
}

/// Splits the whole stream; returns the records and where splitting stopped.
fn split_whole(sp: &mut dyn Splitter, stream: &[u8], model: Model) -> (Vec<Found>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let buf = &stream[pos..];
        let s = sp.find_record(buf);
        check(buf, &s, model);
        if s.consumed == 0 {
            break;
        }
        records.extend(found(buf, &s, pos));
        pos += s.consumed;
    }
    (records, pos)
}

/// Feeds the stream in chunks into a buffer that keeps only unconsumed bytes.
fn split_chunked(
    sp: &mut dyn Splitter,
    stream: &[u8],
    model: Model,
    max_chunk: u8,
    seed: u8,
) -> (Vec<Found>, usize) {
    let mut records = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0;
    for chunk in common::chunks(stream, max_chunk, seed) {
        buf.extend_from_slice(chunk);
        while !buf.is_empty() {
            let s = sp.find_record(&buf);
            check(&buf, &s, model);
            if s.consumed == 0 {
                break;
            }
            records.extend(found(&buf, &s, base));
            buf.drain(..s.consumed);
            base += s.consumed;
        }
    }
    (records, base)
}

fuzz_target!(|data: &[u8]| {
    let [selector, max_chunk, seed, rest @ ..] = data else {
        return;
    };
    let Some((setup, stream)) = setup(*selector, rest) else {
        return;
    };
    let fixed = usize::from(*selector) % (SETUPS.len() + 2) < SETUPS.len();
    let registry = heka_plugins::builtin();
    let Some(spec) = registry.splitter(setup.type_name) else {
        panic!("{} is not registered", setup.type_name);
    };
    let loaded;
    let cfg = if fixed {
        &fixed_configs()[usize::from(*selector) % (SETUPS.len() + 2)]
    } else {
        match common::config(&setup.hekad, setup.type_name, &setup.options) {
            Ok(cfg) => {
                loaded = cfg;
                &loaded
            }
            Err(e) => {
                std::hint::black_box(e.to_string());
                return;
            }
        }
    };
    let build = || common::build_section(cfg, common::SECTION, spec.build);
    let built = build().and_then(|a| Ok((a, build()?)));
    let (mut whole_splitter, mut chunk_splitter) = match built {
        Ok(pair) => pair,
        Err(e) if fixed => panic!("fixed setup {:?} must build: {e}", setup.options),
        // The input's own delimiter may be refused (a bad regex, two groups, ...).
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    let (whole, whole_end) = split_whole(&mut *whole_splitter, stream, setup.model);
    let (chunked, chunked_end) =
        split_chunked(&mut *chunk_splitter, stream, setup.model, *max_chunk, *seed);
    if setup.chunk_stable {
        assert_eq!(whole, chunked, "chunked feeding must find the same records");
        assert_eq!(
            whole_end, chunked_end,
            "both passes must stop at the same offset"
        );
    }
});
