//! The table of plugin types the builder draws from.
//!
//! Each plugin file ends with one const spec; each kind's `mod.rs` in the plugins crate lists
//! them, and `heka_plugins::builtin()` returns the whole [`Registry`]. There is no global
//! registration: this table is the only list of plugins.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::config::{ConfigError, Globals, PluginKind, PluginOptions, Section};
use crate::plugin::{Decoder, Encoder, Filter, Input, Output, Splitter};
use crate::stats::StatsSlot;

/// What a plugin's build function gets.
pub struct BuildContext<'a> {
    /// The instance name (for templates: `<input>-<splitter>`, `<output>-<encoder>`).
    pub name: &'a str,
    /// The config section the plugin comes from (for errors naming file, section and option).
    pub section: &'a Section,
    /// The plugin's own options (the common ones removed).
    pub options: &'a PluginOptions,
    /// The `[hekad]` globals.
    pub globals: &'a Globals,
    /// `hekad -test`: check the options (resolve addresses, look at directories) but take no
    /// resource — bind, open, create and connect nothing. The instance built is never run.
    pub check_only: bool,
    /// The config's decoder sections, for a decoder that builds others by name
    /// ([`BuildContext::build_decoder`]). Empty for plugins of other kinds.
    pub decoders: Decoders<'a>,
    /// What plugins share by section name (see [`Links`]).
    pub links: &'a Arc<Links>,
    /// Where the plugin publishes fields of its own for the report ([`StatsSlot::publish`]);
    /// detached (shown nowhere) for sub-decoders and check builds.
    pub stats: StatsSlot,
}

impl BuildContext<'_> {
    /// A config error about `option` of this plugin's section.
    pub fn error(&self, option: Option<&str>, msg: impl std::fmt::Display) -> ConfigError {
        self.section.error(option, msg)
    }

    /// For plugins that in Heka had no config struct of their own (ProtobufDecoder,
    /// RstEncoder, …): Heka read their section into a free-form map, so any option was
    /// accepted and ignored. Accepts them too, with one warning per option, and returns how
    /// many there were.
    pub fn ignore_options(&self) -> usize {
        // A template is built once under its own name to check it, then once per instance
        // under `<user>-<template>`: warn only at the check.
        if self.name != self.section.name {
            return self.options.values().len();
        }
        for key in self.options.values().keys() {
            let ty = &self.section.type_name;
            let mut msg = format!("'{ty}' has no option '{key}': it is ignored (as Heka did)");
            if let Some(hint) = crate::config::legacy::removed_option_hint(ty, key) {
                msg = format!("{msg}; {hint}");
            }
            tracing::warn!("{}", self.section.error(Some(key), msg));
        }
        self.options.values().len()
    }

    /// The values plugins of this pipeline publish by section name (see [`Links`]).
    pub fn links(&self) -> &Arc<Links> {
        self.links
    }

    /// A handle on the value of type `T` that the section `target` publishes (see
    /// [`Links::publish`]), looked up when the plugin asks for it ([`Link::get`]), so the
    /// publishing section may be built after this one. Once every plugin is built, the builder
    /// checks that `target` did publish one: if not, the config fails with an error naming
    /// this section and `option` (the option that names `target`), saying that it provides no
    /// `what` (e.g. "a stat accumulator").
    pub fn link<T: Any + Send + Sync>(
        &self,
        option: &str,
        target: &str,
        what: &'static str,
    ) -> Link<T> {
        self.links.want(Wanted {
            section: self.section.clone(),
            option: option.to_string(),
            target: target.to_string(),
            what,
            is_type: |v| v.is::<T>(),
        });
        Link {
            links: self.links.clone(),
            target: target.to_string(),
            _type: PhantomData,
        }
    }

    /// Builds a new instance of the config's decoder section `section` (for decoders made of
    /// other decoders, such as MultiDecoder). The instance is named `<this name>-<section>`
    /// and is built with this context's `check_only`.
    ///
    /// Fails with [`SubDecoderError::Circular`] when `section` is this plugin's own section or
    /// one whose build led to this one.
    pub fn build_decoder(&self, section: &str) -> Result<Box<dyn Decoder>, SubDecoderError> {
        let Some(sections) = self.decoders.sections else {
            return Err(SubDecoderError::Missing);
        };
        let link = Building {
            section: &self.section.name,
            outer: self.decoders.building,
        };
        let this = Some(&link);
        let mut outer = this;
        while let Some(b) = outer {
            if b.section == section {
                return Err(SubDecoderError::Circular);
            }
            outer = b.outer;
        }
        let decoders = Decoders {
            sections: Some(sections),
            building: this,
        };
        let name = format!("{}-{section}", self.name);
        match sections.build(section, &name, self.check_only, decoders) {
            Some(r) => r.map_err(SubDecoderError::Config),
            None => Err(SubDecoderError::Missing),
        }
    }
}

/// What the plugins of one pipeline share by section name: the one plugin-to-plugin link
/// besides decoders built by name.
///
/// A plugin publishes a value at build time under its own section name (StatAccumInput its
/// stat sink); another plugin that names that section in an option (StatsdInput's
/// `stat_accum_name`) takes a [`Link`] to it with [`BuildContext::link`] and looks the value up
/// when it runs. The pipeline knows neither the plugins nor the values' types: it only checks,
/// once every plugin is built, that each link found a value of the type it wants.
#[derive(Default)]
pub struct Links {
    /// The config's plugin sections, name → type (for error messages).
    sections: HashMap<String, String>,
    values: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    wanted: Mutex<Vec<Wanted>>,
    /// Set once the builder has checked the links: instances rebuilt later (restarts) add no
    /// more checks.
    checked: AtomicBool,
}

/// A link a plugin asked for, checked once every plugin is built.
struct Wanted {
    section: Section,
    option: String,
    target: String,
    what: &'static str,
    is_type: fn(&(dyn Any + Send + Sync)) -> bool,
}

impl Links {
    /// The links of a config whose plugin sections are `sections` (name, type).
    pub fn new<'s>(sections: impl IntoIterator<Item = (&'s str, &'s str)>) -> Links {
        Links {
            sections: sections
                .into_iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            ..Links::default()
        }
    }

    /// Publishes the value `make` creates under the section name `section` and returns it;
    /// when that section already published a value of this type (an instance built before,
    /// which a restart replaces), returns that one instead, so state kept in it outlives the
    /// instance.
    pub fn publish<T: Any + Send + Sync>(&self, section: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let mut values = self.values.lock();
        if let Some(v) = values.get(section)
            && let Ok(v) = v.clone().downcast::<T>()
        {
            return v;
        }
        let v = Arc::new(make());
        values.insert(section.to_string(), v.clone());
        v
    }

    /// The value of type `T` the section `section` published, if any.
    pub fn get<T: Any + Send + Sync>(&self, section: &str) -> Option<Arc<T>> {
        let v = self.values.lock().get(section)?.clone();
        v.downcast::<T>().ok()
    }

    fn want(&self, w: Wanted) {
        if !self.checked.load(Ordering::Acquire) {
            self.wanted.lock().push(w);
        }
    }

    /// Checks every link asked for so far (once every plugin is built): one error for each
    /// whose target published no value of the wanted type, except targets in `failed`
    /// (sections that failed to build, whose own error says why).
    pub fn check(&self, failed: &HashSet<&str>) -> Vec<ConfigError> {
        self.checked.store(true, Ordering::Release);
        let wanted = std::mem::take(&mut *self.wanted.lock());
        let values = self.values.lock();
        let mut errors = Vec::new();
        for w in wanted {
            if failed.contains(w.target.as_str()) {
                continue;
            }
            let ok = values.get(&w.target).is_some_and(|v| (w.is_type)(&**v));
            if ok {
                continue;
            }
            let msg = match self.sections.get(&w.target) {
                Some(ty) => format!(
                    "section '{}' (type {ty}) does not provide {}",
                    w.target, w.what
                ),
                None => format!("no section named '{}' provides {}", w.target, w.what),
            };
            errors.push(w.section.error(Some(&w.option), msg));
        }
        errors
    }
}

/// A plugin's handle on a value another section publishes (see [`BuildContext::link`]).
pub struct Link<T> {
    links: Arc<Links>,
    target: String,
    _type: PhantomData<fn() -> T>,
}

impl<T: Any + Send + Sync> Link<T> {
    /// The value, once its section has published it (always, in a pipeline that built).
    pub fn get(&self) -> Option<Arc<T>> {
        self.links.get(&self.target)
    }

    /// The name of the section the value comes from.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl<T> Clone for Link<T> {
    fn clone(&self) -> Self {
        Link {
            links: self.links.clone(),
            target: self.target.clone(),
            _type: PhantomData,
        }
    }
}

/// The decoder sections of a config, by name: what [`BuildContext::build_decoder`] draws from.
pub trait DecoderSections: Send + Sync {
    /// Calls the build function of the decoder section `section` with a context for that
    /// section, named `name`, with `check_only` and `decoders`; `None` when the config has no
    /// (valid) decoder section of that name.
    fn build(
        &self,
        section: &str,
        name: &str,
        check_only: bool,
        decoders: Decoders<'_>,
    ) -> Option<Result<Box<dyn Decoder>, ConfigError>>;
}

/// A build context's access to the config's decoder sections (see
/// [`BuildContext::build_decoder`]). The default has none.
#[derive(Clone, Copy, Default)]
pub struct Decoders<'a> {
    sections: Option<&'a dyn DecoderSections>,
    /// The decoder sections whose builds are under way, innermost first.
    building: Option<&'a Building<'a>>,
}

impl<'a> Decoders<'a> {
    /// Access to `sections`, from outside any decoder build.
    pub fn new(sections: &'a dyn DecoderSections) -> Decoders<'a> {
        Decoders {
            sections: Some(sections),
            building: None,
        }
    }
}

/// One decoder section being built, and the one whose build asked for it.
struct Building<'a> {
    section: &'a str,
    outer: Option<&'a Building<'a>>,
}

/// Why [`BuildContext::build_decoder`] failed.
#[derive(Debug)]
pub enum SubDecoderError {
    /// The config has no decoder section of that name.
    Missing,
    /// The section is already being built further out: decoders refer to each other in a
    /// circle.
    Circular,
    /// The section's own options are wrong.
    Config(ConfigError),
}

/// Build function of a plugin kind.
pub type BuildFn<T> = fn(&BuildContext<'_>) -> Result<Box<T>, ConfigError>;

/// Whether a filter or output takes a ticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticker {
    /// `ticker_interval` is a config error.
    Unsupported,
    /// A ticker runs only when `ticker_interval` is set.
    Optional,
    /// A ticker runs with this many seconds unless `ticker_interval` says otherwise.
    Default(u64),
}

/// When an output frames its encoder's output by default (`use_framing` absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingDefault {
    /// Never.
    Never,
    /// Always (AMQPOutput).
    Always,
    /// When the encoder is a `ProtobufEncoder` (TcpOutput, FileOutput).
    WhenProtobuf,
}

/// An input type.
pub struct InputSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs and `-help`.
    pub summary: &'static str,
    /// Splitter used when the config names none.
    pub default_splitter: &'static str,
    /// Decoder used when the config names none.
    pub default_decoder: Option<&'static str>,
    /// Default of `can_exit` (true for sandboxes, whose config struct in Heka defaulted it so).
    pub can_exit: bool,
    /// Builds an instance.
    pub build: BuildFn<dyn Input>,
}

/// A splitter type.
pub struct SplitterSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs.
    pub summary: &'static str,
    /// Default of `use_message_bytes`.
    pub use_message_bytes: bool,
    /// Default of `min_buffer_size`.
    pub min_buffer_size: usize,
    /// Builds an instance (called once per input stream).
    pub build: BuildFn<dyn Splitter>,
}

/// A decoder type.
pub struct DecoderSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs.
    pub summary: &'static str,
    /// Builds an instance (called once per input stream).
    pub build: BuildFn<dyn Decoder>,
}

/// An encoder type.
pub struct EncoderSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs.
    pub summary: &'static str,
    /// Builds an instance (called once per output).
    pub build: BuildFn<dyn Encoder>,
}

/// A filter type.
#[derive(Clone, Copy)]
pub struct FilterSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs.
    pub summary: &'static str,
    /// Matcher used when the config names none (else a missing matcher is an error).
    pub default_matcher: Option<&'static str>,
    /// Ticker support.
    pub ticker: Ticker,
    /// Default of `can_exit` (true for sandboxes, whose config struct in Heka defaulted it so).
    pub can_exit: bool,
    /// Builds an instance.
    pub build: BuildFn<dyn Filter>,
}

/// An output type.
pub struct OutputSpec {
    /// Heka type name.
    pub type_name: &'static str,
    /// One line for docs.
    pub summary: &'static str,
    /// Matcher used when the config names none.
    pub default_matcher: Option<&'static str>,
    /// Encoder used when the config names none.
    pub default_encoder: Option<&'static str>,
    /// Whether a config without an encoder is an error.
    pub encoder_required: bool,
    /// For an output that Heka 0.8/0.9 ran without an encoder, before 0.10 required one: the
    /// encoder that gives what it wrote then. A config naming no encoder loads with it and a
    /// warning instead of failing.
    pub legacy_encoder: Option<&'static str>,
    /// Default of `use_framing`.
    pub framing: FramingDefault,
    /// Ticker support.
    pub ticker: Ticker,
    /// Default of `can_exit` (true for sandboxes, whose config struct in Heka defaulted it so).
    pub can_exit: bool,
    /// The type's own disk queue defaults: when set, `use_buffering` defaults to true and a
    /// section without a `buffering` table uses these (Heka's TcpOutput).
    pub buffering: Option<crate::config::BufferingConfig>,
    /// Builds an instance.
    pub build: BuildFn<dyn Output>,
}

/// All plugin types known to a build of hekad.
#[derive(Default)]
pub struct Registry {
    /// Input types.
    pub inputs: Vec<InputSpec>,
    /// Splitter types.
    pub splitters: Vec<SplitterSpec>,
    /// Decoder types.
    pub decoders: Vec<DecoderSpec>,
    /// Filter types.
    pub filters: Vec<FilterSpec>,
    /// Encoder types.
    pub encoders: Vec<EncoderSpec>,
    /// Output types.
    pub outputs: Vec<OutputSpec>,
}

impl Registry {
    /// The input type with this name.
    pub fn input(&self, t: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|s| s.type_name == t)
    }
    /// The splitter type with this name.
    pub fn splitter(&self, t: &str) -> Option<&SplitterSpec> {
        self.splitters.iter().find(|s| s.type_name == t)
    }
    /// The decoder type with this name.
    pub fn decoder(&self, t: &str) -> Option<&DecoderSpec> {
        self.decoders.iter().find(|s| s.type_name == t)
    }
    /// The filter type with this name.
    pub fn filter(&self, t: &str) -> Option<&FilterSpec> {
        self.filters.iter().find(|s| s.type_name == t)
    }
    /// The encoder type with this name.
    pub fn encoder(&self, t: &str) -> Option<&EncoderSpec> {
        self.encoders.iter().find(|s| s.type_name == t)
    }
    /// The output type with this name.
    pub fn output(&self, t: &str) -> Option<&OutputSpec> {
        self.outputs.iter().find(|s| s.type_name == t)
    }

    /// Whether a type of this name and kind is registered.
    pub fn has(&self, kind: PluginKind, t: &str) -> bool {
        match kind {
            PluginKind::Input => self.input(t).is_some(),
            PluginKind::Splitter => self.splitter(t).is_some(),
            PluginKind::Decoder => self.decoder(t).is_some(),
            PluginKind::Filter => self.filter(t).is_some(),
            PluginKind::Encoder => self.encoder(t).is_some(),
            PluginKind::Output => self.output(t).is_some(),
        }
    }

    /// Every registered type name with its kind, in table order.
    pub fn type_names(&self) -> Vec<(PluginKind, &'static str)> {
        let mut v = Vec::new();
        v.extend(self.inputs.iter().map(|s| (PluginKind::Input, s.type_name)));
        v.extend(
            self.splitters
                .iter()
                .map(|s| (PluginKind::Splitter, s.type_name)),
        );
        v.extend(
            self.decoders
                .iter()
                .map(|s| (PluginKind::Decoder, s.type_name)),
        );
        v.extend(
            self.filters
                .iter()
                .map(|s| (PluginKind::Filter, s.type_name)),
        );
        v.extend(
            self.encoders
                .iter()
                .map(|s| (PluginKind::Encoder, s.type_name)),
        );
        v.extend(
            self.outputs
                .iter()
                .map(|s| (PluginKind::Output, s.type_name)),
        );
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections of a config, and a build context for one of them.
    fn sections(toml: &str) -> crate::config::Config {
        crate::config::load_str(toml, std::path::Path::new("t.toml")).unwrap()
    }

    #[test]
    fn links_publish_once_and_are_checked_after_the_build() {
        let cfg = sections(
            "[user]\ntype = 'UdpInput'\n[acc]\ntype = 'StatAccumInput'\n[other]\ntype = 'LogOutput'\n",
        );
        let links = Arc::new(Links::new(
            cfg.sections
                .iter()
                .map(|s| (s.name.as_str(), s.type_name.as_str())),
        ));
        let user = cfg.section("user").unwrap();
        let options = user.no_common().unwrap();
        let ctx = BuildContext {
            name: "user",
            section: user,
            options: &options,
            globals: &cfg.globals,
            check_only: false,
            decoders: Decoders::default(),
            links: &links,
            stats: Default::default(),
        };
        // Asked for before the target is built: found once it publishes.
        let wanted: Link<String> = ctx.link("accumulator", "acc", "a string");
        let wrong: Link<String> = ctx.link("other_one", "other", "a string");
        let missing: Link<String> = ctx.link("nowhere", "ghost", "a string");
        assert!(wanted.get().is_none());
        let first = links.publish("acc", || "first".to_string());
        // A rebuilt instance gets the value of the one it replaces.
        let again = links.publish("acc", || "second".to_string());
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(wanted.get().as_deref().map(String::as_str), Some("first"));
        links.publish("other", || 7u32);
        assert!(wrong.get().is_none());
        assert_eq!(missing.target(), "ghost");
        let errors: Vec<String> = links
            .check(&HashSet::new())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].contains("other_one")
                && errors[0].contains("section 'other' (type LogOutput) does not provide a string"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("nowhere")
                && errors[1].contains("no section named 'ghost' provides a string"),
            "{errors:?}"
        );
        // Links asked for after the check (restarted instances) are not recorded.
        let _late: Link<String> = ctx.link("late", "ghost", "a string");
        assert!(links.check(&HashSet::new()).is_empty());

        // A target that failed to build has its own error: none for the link.
        let fresh = Arc::new(Links::default());
        let ctx = BuildContext {
            links: &fresh,
            ..ctx
        };
        let _l: Link<String> = ctx.link("accumulator", "acc", "a string");
        assert!(fresh.check(&HashSet::from(["acc"])).is_empty());
        let fresh = Arc::new(Links::default());
        let ctx = BuildContext {
            links: &fresh,
            ..ctx
        };
        let _l: Link<String> = ctx.link("accumulator", "acc", "a string");
        assert_eq!(fresh.check(&HashSet::new()).len(), 1);
    }
}
