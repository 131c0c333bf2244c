//! What several targets share: building plugins the way hekad builds them, from a TOML
//! section through the built-in registry.

// Each target compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::Path;

use heka_pipeline::config::{Config, ConfigError, PluginKind, load_str};
use heka_pipeline::registry::{BuildContext, BuildFn};

/// Name of the one plugin section of the configs made by [`config`].
pub const SECTION: &str = "p";

/// `stream` cut into the chunks a chunked pass feeds, as a socket would deliver it: each 1 to
/// `max_chunk + 1` bytes long, the lengths drawn by a xorshift generator seeded with `seed`.
pub fn chunks(stream: &[u8], max_chunk: u8, seed: u8) -> impl Iterator<Item = &[u8]> {
    let mut rng = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    let mut fed = 0;
    std::iter::from_fn(move || {
        if fed >= stream.len() {
            return None;
        }
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let n = (1 + rng as usize % (usize::from(max_chunk) + 1)).min(stream.len() - fed);
        fed += n;
        Some(&stream[fed - n..fed])
    })
}

/// A TOML basic string (quoted, escaped) holding `s`.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Loads a config holding `[hekad]` with the lines `hekad` and one section `[p]` of type
/// `type_name` with the option lines `options`.
pub fn config(hekad: &str, type_name: &str, options: &str) -> Result<Config, ConfigError> {
    let text = format!("[hekad]\n{hekad}\n[{SECTION}]\ntype = \"{type_name}\"\n{options}\n");
    load_str(&text, Path::new("fuzz.toml"))
}

/// Builds the plugin of `section` with `build`, handing it the options hekad hands it (the
/// common options of its kind removed).
pub fn build_section<T: ?Sized>(
    cfg: &Config,
    name: &str,
    build: BuildFn<T>,
) -> Result<Box<T>, ConfigError> {
    let Some(section) = cfg.section(name) else {
        panic!("no section [{name}] in the loaded config");
    };
    let options = match section.kind {
        PluginKind::Input => section.common_input()?.1,
        PluginKind::Splitter => section.common_splitter()?.1,
        PluginKind::Filter => section.common_filter_output(false)?.1,
        PluginKind::Output => section.common_filter_output(true)?.1,
        PluginKind::Decoder | PluginKind::Encoder => section.no_common()?,
    };
    build(&BuildContext {
        name,
        section,
        options: &options,
        globals: &cfg.globals,
        check_only: false,
        decoders: Default::default(),
        links: &Default::default(),
        stats: Default::default(),
    })
}
