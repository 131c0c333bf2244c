//! Fuzzes loading a hekad TOML config (`heka_pipeline::config::load_str`) from arbitrary
//! text (the input bytes read as UTF-8, invalid sequences replaced by U+FFFD), then what the
//! pipeline does next with each section short of opening sockets and files.
//!
//! Loading gives `Ok` or `Err`, never a panic. An error renders, and its position, when it has
//! one, is a line and column inside the text (checked when nothing was substituted). A loaded config has unique section names, each
//! found by name; each section's kind is the one its type name's suffix names; splitting off
//! the common options of its kind gives `Ok` or `Err`. Splitters, decoders, filters and
//! encoders of a registered type are built through the built-in registry (inputs and outputs
//! are not: building them binds sockets and opens files), and must build or fail cleanly.

#![no_main]

mod common;

use std::collections::HashSet;
use std::path::Path;

use heka_pipeline::config::{PluginKind, load_str};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cfg = match load_str(&text, Path::new("fuzz.toml")) {
        Ok(cfg) => cfg,
        Err(e) => {
            // Positions count in the text after `%ENV[...]` substitution, which may be longer.
            if let Some(p) = e.position().filter(|_| !text.contains("%ENV[")) {
                let lines = text.split('\n').count();
                assert!(
                    p.line >= 1 && p.line <= lines && p.column >= 1,
                    "error position {p} outside the text ({lines} lines): {e}"
                );
            }
            std::hint::black_box(e.to_string());
            return;
        }
    };
    assert_eq!(cfg.is_empty(), cfg.sections.is_empty());
    assert_eq!(cfg.ensure_not_empty().is_err(), cfg.sections.is_empty());
    let registry = heka_plugins::builtin();
    let mut names = HashSet::new();
    for s in &cfg.sections {
        assert!(names.insert(s.name.as_str()), "section {} twice", s.name);
        assert!(
            cfg.section(&s.name)
                .is_some_and(|found| std::ptr::eq(found, s)),
            "section {} not found by its name",
            s.name
        );
        assert_eq!(
            PluginKind::from_type_name(&s.type_name),
            Some(s.kind),
            "kind of type {}",
            s.type_name
        );
        let p = s.position();
        assert!(p.line >= 1 && p.column >= 1, "section position {p}");
        let common = match s.kind {
            PluginKind::Input => s.common_input().map(drop),
            PluginKind::Splitter => s.common_splitter().map(drop),
            PluginKind::Filter => s.common_filter_output(false).map(drop),
            PluginKind::Output => s.common_filter_output(true).map(drop),
            PluginKind::Decoder | PluginKind::Encoder => s.no_common().map(drop),
        };
        if let Err(e) = common {
            std::hint::black_box(e.to_string());
            continue;
        }
        let built = match s.kind {
            PluginKind::Splitter => registry
                .splitter(&s.type_name)
                .map(|spec| common::build_section(&cfg, &s.name, spec.build).map(drop)),
            PluginKind::Decoder => registry
                .decoder(&s.type_name)
                .map(|spec| common::build_section(&cfg, &s.name, spec.build).map(drop)),
            PluginKind::Filter => registry
                .filter(&s.type_name)
                .map(|spec| common::build_section(&cfg, &s.name, spec.build).map(drop)),
            PluginKind::Encoder => registry
                .encoder(&s.type_name)
                .map(|spec| common::build_section(&cfg, &s.name, spec.build).map(drop)),
            PluginKind::Input | PluginKind::Output => None,
        };
        if let Some(Err(e)) = built {
            std::hint::black_box(e.to_string());
        }
    }
});
