//! Helpers shared by the plugins' unit tests.

use std::path::Path;

use heka_pipeline::config::{ConfigError, PluginKind, load_str};
use heka_pipeline::registry::{BuildContext, BuildFn};
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
        PluginKind::Splitter => s.common_splitter()?.1,
        _ => s.no_common()?,
    };
    f(&BuildContext {
        name: &s.name,
        section: s,
        options: &options,
        globals: &cfg.globals,
    })
}
