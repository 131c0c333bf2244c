//! Helpers shared by the plugins' unit tests.

use std::path::Path;

use heka_pipeline::config::{Config, ConfigError, PluginKind, load_str};
use heka_pipeline::plugin::{Decoder, Splitter};
use heka_pipeline::registry::{BuildContext, BuildFn, DecoderSections, Decoders, SplitterSpec};
use serde::de::DeserializeOwned;

/// A plugin section for a test: `[<name>]` of type `type_name` with TOML option lines (which may
/// open sub-tables `[<name>.x]`), after a `[hekad]` table holding `hekad` (may be empty).
pub(crate) struct TestSection<'a> {
    pub(crate) name: &'a str,
    pub(crate) type_name: &'a str,
    pub(crate) options: &'a str,
    pub(crate) hekad: &'a str,
}

/// Builds one instance the way the pipeline builds a template.
pub(crate) fn build_section<T: ?Sized>(
    build: BuildFn<T>,
    section: TestSection<'_>,
) -> Result<Box<T>, ConfigError> {
    with_context(section, build)
}

/// Builds one instance of `type_name` from a section `[name]` with these option lines.
pub(crate) fn build<T: ?Sized>(
    build: BuildFn<T>,
    name: &str,
    type_name: &str,
    options: &str,
) -> Result<Box<T>, ConfigError> {
    build_section(
        build,
        TestSection {
            name,
            type_name,
            options,
            hekad: "",
        },
    )
}

/// Parses the plugin's own options of a section `[name]` of `type_name` into `C`.
pub(crate) fn options<C: DeserializeOwned>(
    name: &str,
    type_name: &str,
    options: &str,
) -> Result<C, ConfigError> {
    let section = TestSection {
        name,
        type_name,
        options,
        hekad: "",
    };
    with_context(section, |ctx| ctx.options.parse())
}

fn with_context<R>(
    t: TestSection<'_>,
    f: impl FnOnce(&BuildContext<'_>) -> Result<R, ConfigError>,
) -> Result<R, ConfigError> {
    let toml = format!(
        "[hekad]\n{}\n[{}]\ntype = \"{}\"\n{}\n",
        t.hekad, t.name, t.type_name, t.options
    );
    let cfg = load_str(&toml, Path::new("test.toml"))?;
    let s = cfg
        .section(t.name)
        .ok_or_else(|| ConfigError::invalid("no test section"))?;
    let options = match s.kind {
        PluginKind::Input => s.common_input()?.1,
        PluginKind::Splitter => s.common_splitter()?.1,
        PluginKind::Filter => s.common_filter_output(false)?.1,
        PluginKind::Output => s.common_filter_output(true)?.1,
        PluginKind::Decoder | PluginKind::Encoder => s.no_common()?,
    };
    f(&BuildContext {
        name: &s.name,
        section: s,
        options: &options,
        globals: &cfg.globals,
        check_only: false,
        decoders: Default::default(),
        links: &Default::default(),
        stats: Default::default(),
    })
}

/// The decoder sections of a test config, built with the built-in decoder types.
struct TestDecoders(Config);

impl DecoderSections for TestDecoders {
    fn build(
        &self,
        section: &str,
        name: &str,
        check_only: bool,
        decoders: Decoders<'_>,
    ) -> Option<Result<Box<dyn Decoder>, ConfigError>> {
        let s = self
            .0
            .sections
            .iter()
            .find(|s| s.name == section && s.kind == PluginKind::Decoder)?;
        let registry = crate::builtin();
        let spec = registry.decoder(&s.type_name)?;
        Some(s.no_common().and_then(|options| {
            (spec.build)(&BuildContext {
                name,
                section: s,
                options: &options,
                globals: &self.0.globals,
                check_only,
                decoders,
                links: &Default::default(),
                stats: Default::default(),
            })
        }))
    }
}

/// Builds the decoder section `name` of the TOML `config`, which may hold the decoder sections
/// it builds by name (MultiDecoder's subs).
pub(crate) fn build_decoder_in(config: &str, name: &str) -> Result<Box<dyn Decoder>, ConfigError> {
    let sections = TestDecoders(load_str(config, Path::new("test.toml"))?);
    match sections.build(name, name, false, Decoders::new(&sections)) {
        Some(r) => r,
        None => Err(ConfigError::invalid("no such decoder section")),
    }
}

/// One call of a splitter: bytes consumed, the record delivered (if any), the verified signer.
pub(crate) type SplitStep = (usize, Option<Vec<u8>>, Option<String>);

/// Feeds `input` to `s` as the stream runner does, calling until nothing is consumed; returns
/// every step and the offset where splitting stopped.
pub(crate) fn split_all(s: &mut dyn Splitter, input: &[u8]) -> (Vec<SplitStep>, usize) {
    let mut off = 0;
    let mut steps = Vec::new();
    while off < input.len() {
        let r = s.find_record(&input[off..]);
        if r.consumed == 0 {
            assert!(r.record.is_none(), "a record without consuming anything");
            break;
        }
        let rec = r.record.map(|x| input[off + x.start..off + x.end].to_vec());
        let signer = r.signer.map(|b| String::from_utf8_lossy(&b).into_owned());
        steps.push((r.consumed, rec, signer));
        off += r.consumed;
    }
    (steps, off)
}

/// Builds `spec`'s splitter from `options`, splits `input` as the stream runner does (calling
/// until nothing is consumed) and compares the `(consumed, record)` steps (`""` = nothing
/// delivered) and the bytes left over; returns the steps for further checks.
#[cfg(test)]
pub(crate) fn check_split(
    spec: &SplitterSpec,
    options: &str,
    input: &str,
    steps: &[(usize, &str)],
    rest: &str,
) -> Vec<SplitStep> {
    let mut s = build(spec.build, "s", spec.type_name, options).expect("the splitter builds");
    let (got, off) = split_all(&mut *s, input.as_bytes());
    let want: Vec<_> = steps.iter().map(|(n, r)| (*n, r.to_string())).collect();
    assert_eq!(text_steps(&got), want, "{options:?} {input:?}");
    assert_eq!(&input[off..], rest, "{options:?} {input:?}");
    got
}

/// The steps as `(consumed, record text)`, `""` standing for "nothing delivered".
pub(crate) fn text_steps(steps: &[SplitStep]) -> Vec<(usize, String)> {
    steps
        .iter()
        .map(|(n, r, _)| {
            (
                *n,
                String::from_utf8_lossy(r.as_deref().unwrap_or(b"")).into_owned(),
            )
        })
        .collect()
}

/// A UDP port on 127.0.0.1 that was free a moment ago (for a test's UdpInput).
pub(crate) fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free UDP port: {e}"))
}
