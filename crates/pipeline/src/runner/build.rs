//! Turns a loaded config into a pipeline, starts it and stops it in Heka's order.
//!
//! Building checks everything before anything starts (Heka: "N errors loading plugins"):
//! registered types, common options, matchers, tickers, the splitter/decoder/encoder each
//! plugin names, and every plugin's own options (by building one instance of each template).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use heka_matcher::Matcher;

use crate::config::BufferingConfig;
use crate::config::{self, Config, ConfigError, Globals, PluginKind, PluginOptions, Section};
use crate::plugin::{Decoder, Encoder, Splitter};
use crate::registry::{
    BuildContext, BuildFn, DecoderSections, Decoders, FramingDefault, Links, Registry, Ticker,
};
use crate::router::{self, Destination, Router};
use crate::runner::buffered::{Buffer, StartCheck, delay_start};
use crate::runner::dynamic::FilterControl;
use crate::runner::filter_output::{Control, FoPlugin, FoRunner, FoStats, Rebuild};
use crate::runner::input::{InputContext, InputRunner};
use crate::runner::queue::{self, QueueOptions};
use crate::runner::report::{Report, ReportEntry};
use crate::runner::stream::{Factory, SplitterOptions, StreamShared, StreamStats};
use crate::runner::{Backoff, ShutdownHandle, ShutdownRequest, StopSignal, stop_signal};
use crate::stats::StatsSlot;

/// Every error found while building, in config order.
#[derive(Debug)]
pub struct BuildErrors(pub Vec<ConfigError>);

impl std::fmt::Display for BuildErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        write!(f, "{} errors loading plugins", self.0.len())
    }
}

impl std::error::Error for BuildErrors {}

/// Types hekad registers under their own name unless the config has a section of that name.
const DEFAULT_SECTIONS: &[&str] = &[
    "ProtobufDecoder",
    "ProtobufEncoder",
    "HekaFramingSplitter",
    "NullSplitter",
    "TokenSplitter",
    "PatternGroupingSplitter",
];

/// A splitter, decoder or encoder section: instantiated once per user.
struct Template {
    section: Section,
    options: PluginOptions,
}

/// A built pipeline, ready to start.
pub struct Pipeline {
    globals: Arc<Globals>,
    router: Arc<Router>,
    input_stop: Arc<StopSignal>,
    draining: Arc<StopSignal>,
    inputs: Vec<InputRunner>,
    filters: Vec<(FoRunner, FoPlugin)>,
    outputs: Vec<(FoRunner, FoPlugin)>,
    controls: Vec<Sender<Control>>,
    shutdown_rx: Receiver<ShutdownRequest>,
    shutdown: ShutdownHandle,
    report: Report,
    control: FilterControl,
}

fn backoff(r: &config::RetryOptions) -> Backoff {
    Backoff::new(r.delay, r.max_delay, r.max_jitter, r.max_retries)
}

/// What every plugin build of one pipeline shares: the globals and the links between
/// sections.
#[derive(Clone)]
pub(crate) struct Env {
    globals: Arc<Globals>,
    links: Arc<Links>,
}

fn build_instance<T: ?Sized>(
    build: fn(&BuildContext<'_>) -> Result<Box<T>, ConfigError>,
    name: &str,
    t: &Template,
    env: &Env,
    check_only: bool,
) -> Result<Box<T>, ConfigError> {
    build_with_decoders(build, name, t, env, check_only, Decoders::default())
}

fn build_with_decoders<T: ?Sized>(
    build: fn(&BuildContext<'_>) -> Result<Box<T>, ConfigError>,
    name: &str,
    t: &Template,
    env: &Env,
    check_only: bool,
    decoders: Decoders<'_>,
) -> Result<Box<T>, ConfigError> {
    build_reporting(
        build,
        name,
        t,
        env,
        check_only,
        decoders,
        StatsSlot::default(),
    )
}

/// Builds an instance that publishes its report fields in `stats`.
fn build_reporting<T: ?Sized>(
    build: fn(&BuildContext<'_>) -> Result<Box<T>, ConfigError>,
    name: &str,
    t: &Template,
    env: &Env,
    check_only: bool,
    decoders: Decoders<'_>,
    stats: StatsSlot,
) -> Result<Box<T>, ConfigError> {
    build(&BuildContext {
        name,
        section: &t.section,
        options: &t.options,
        globals: &env.globals,
        check_only,
        decoders,
        links: &env.links,
        stats,
    })
    .map_err(|e| config::legacy::with_removed_hint(e, &t.section.type_name))
}

/// The error for a section whose plugin type is not registered.
fn unregistered(s: &Section) -> ConfigError {
    config::legacy::with_removed_hint(ConfigError::unknown_type(s), &s.type_name)
}

/// The config's decoder sections, for decoders that build others by name (MultiDecoder).
struct DecoderTemplates {
    env: Env,
    by_name: HashMap<String, (BuildFn<dyn Decoder>, Arc<Template>)>,
    /// Decoder sections whose type is not registered: a decoder naming one fails with the
    /// section's own error, not with "no such decoder".
    unregistered: HashMap<String, Section>,
}

impl DecoderSections for DecoderTemplates {
    fn build(
        &self,
        section: &str,
        name: &str,
        check_only: bool,
        decoders: Decoders<'_>,
    ) -> Option<Result<Box<dyn Decoder>, ConfigError>> {
        if let Some(s) = self.unregistered.get(section) {
            return Some(Err(unregistered(s)));
        }
        let (build, t) = self.by_name.get(section)?;
        Some(build_with_decoders(
            *build, name, t, &self.env, check_only, decoders,
        ))
    }
}

pub(crate) struct Builder<'a> {
    registry: &'a Registry,
    /// `hekad -test`: plugins check their options and take no resource.
    check_only: bool,
    globals: Arc<Globals>,
    env: Env,
    templates: HashMap<String, Arc<Template>>,
    /// The decoder templates, for decoders made of others.
    decoders: Arc<DecoderTemplates>,
    errors: Vec<ConfigError>,
    /// Disk queue directories taken so far, by section (two names may sanitise alike).
    queues: std::cell::RefCell<HashMap<std::path::PathBuf, String>>,
}

impl<'a> Builder<'a> {
    /// A builder for `registry` with no templates (what [`FilterControl`] uses to build one
    /// filter from its section).
    pub(crate) fn new(registry: &'a Registry, env: Env, check_only: bool) -> Self {
        Builder {
            registry,
            check_only,
            globals: env.globals.clone(),
            env: env.clone(),
            templates: HashMap::new(),
            decoders: Arc::new(DecoderTemplates {
                env,
                by_name: HashMap::new(),
                unregistered: HashMap::new(),
            }),
            errors: Vec::new(),
            queues: Default::default(),
        }
    }
}

impl Builder<'_> {
    fn template(&self, name: &str, kind: PluginKind) -> Option<Arc<Template>> {
        self.templates
            .get(name)
            .filter(|t| t.section.kind == kind)
            .cloned()
    }

    fn splitter_factory(
        &self,
        input: &Section,
        name: &str,
    ) -> Result<(Factory<dyn Splitter>, SplitterOptions), ConfigError> {
        let t = self.template(name, PluginKind::Splitter).ok_or_else(|| {
            input.error(
                Some("splitter"),
                format!("{} specifies undefined splitter {name}", input.name),
            )
        })?;
        self.splitter_factory_from(input, name, t)
    }

    /// [`Builder::splitter_factory`] for the splitter template `t`, named `name`.
    fn splitter_factory_from(
        &self,
        input: &Section,
        name: &str,
        t: Arc<Template>,
    ) -> Result<(Factory<dyn Splitter>, SplitterOptions), ConfigError> {
        let spec = self
            .registry
            .splitter(&t.section.type_name)
            .ok_or_else(|| t.section.error(Some("type"), "no registered splitter type"))?;
        let (common, _) = t.section.common_splitter()?;
        let max_record = heka_message::framing::max_record_size(self.globals.max_message_size);
        let min_buffer_size = common.min_buffer_size.unwrap_or(spec.min_buffer_size);
        if min_buffer_size > max_record {
            return Err(t.section.error(
                Some("min_buffer_size"),
                format!("'min_buffer_size' ({min_buffer_size}) can't be larger than MAX_RECORD_SIZE ({max_record})"),
            ));
        }
        let opts = SplitterOptions {
            keep_truncated: common.keep_truncated.unwrap_or(false),
            use_message_bytes: common.use_message_bytes.unwrap_or(spec.use_message_bytes),
            min_buffer_size,
            deliver_incomplete_final: common.deliver_incomplete_final.unwrap_or(false),
        };
        let inst = format!("{}-{}", input.name, name);
        let build = spec.build;
        let env = self.env.clone();
        // Validate the options once now.
        build_instance(build, &inst, &t, &env, self.check_only)?;
        let f: Factory<dyn Splitter> =
            Arc::new(move || build_instance(build, &inst, &t, &env, false));
        Ok((f, opts))
    }

    fn decoder_factory(
        &self,
        input: &Section,
        name: &str,
        stats: &StatsSlot,
    ) -> Result<Factory<dyn Decoder>, ConfigError> {
        let t = self.template(name, PluginKind::Decoder).ok_or_else(|| {
            input.error(Some("decoder"), format!("no registered '{name}' decoder"))
        })?;
        let spec = self
            .registry
            .decoder(&t.section.type_name)
            .ok_or_else(|| t.section.error(Some("type"), "no registered decoder type"))?;
        let inst = format!("{}-{}", input.name, name);
        let build = spec.build;
        let env = self.env.clone();
        let sections = self.decoders.clone();
        let decoders = Decoders::new(&*sections);
        build_with_decoders(build, &inst, &t, &env, self.check_only, decoders)?;
        let stats = stats.clone();
        Ok(Arc::new(move || {
            let decoders = Decoders::new(&*sections);
            build_reporting(build, &inst, &t, &env, false, decoders, stats.clone())
        }))
    }

    fn encoder(
        &self,
        output: &Section,
        name: &str,
        stats: &StatsSlot,
    ) -> Result<(Box<dyn Encoder>, String), ConfigError> {
        let t = self.template(name, PluginKind::Encoder).ok_or_else(|| {
            output.error(
                Some("encoder"),
                format!("{} can't create encoder {name}", output.name),
            )
        })?;
        let spec = self
            .registry
            .encoder(&t.section.type_name)
            .ok_or_else(|| t.section.error(Some("type"), "no registered encoder type"))?;
        let inst = format!("{}-{}", output.name, name);
        Ok((
            build_reporting(
                spec.build,
                &inst,
                &t,
                &self.env,
                self.check_only,
                Decoders::default(),
                stats.clone(),
            )?,
            t.section.type_name.clone(),
        ))
    }
}

/// What every runner of one pipeline shares.
pub(crate) struct Shared {
    pub(crate) router: Arc<Router>,
    pub(crate) input_stop: Arc<StopSignal>,
    pub(crate) draining: Arc<StopSignal>,
    pub(crate) shutdown: ShutdownHandle,
    /// Filters started and stopped at run time.
    pub(crate) control: FilterControl,
}

/// A filter or output runner, its plugin, its place in the router and its control channel.
pub(crate) struct BuiltFo {
    pub(crate) runner: FoRunner,
    pub(crate) plugin: FoPlugin,
    pub(crate) destination: Destination,
    pub(crate) ctl: Sender<Control>,
}

impl Builder<'_> {
    fn input(
        &self,
        s: &Section,
        shared: &Shared,
        report: &mut Report,
    ) -> Result<Option<InputRunner>, ConfigError> {
        let Some(spec) = self.registry.input(&s.type_name) else {
            return Ok(None);
        };
        let globals = &self.globals;
        let (common, mut options) = s.common_input()?;
        let mut splitter_name = common
            .splitter
            .clone()
            .unwrap_or_else(|| spec.default_splitter.to_string());
        // Heka 0.9's `parser_type`, `delimiter`, … on the input: a splitter made from them.
        let named = common
            .splitter
            .as_deref()
            .map(|name| config::legacy::NamedSplitter {
                name,
                section: self.templates.get(name).map(|t| &t.section),
            });
        let legacy = config::legacy::input_splitter(s, &options, named, spec.default_splitter)?;
        let mut default_decoder = spec.default_decoder;
        let splitter_type;
        let (splitter, splitter_options) = match legacy {
            Some(l) => {
                splitter_type = l.section.type_name.clone();
                if l.no_default_decoder {
                    default_decoder = None;
                }
                for w in &l.warnings {
                    tracing::warn!("{w}");
                }
                options = l.options;
                splitter_name = l.section.name.clone();
                let (_, own) = l.section.common_splitter()?;
                let t = Arc::new(Template {
                    section: l.section,
                    options: own,
                });
                self.splitter_factory_from(s, &splitter_name, t)?
            }
            None => {
                splitter_type = self
                    .template(&splitter_name, PluginKind::Splitter)
                    .map(|t| t.section.type_name.clone())
                    .unwrap_or_default();
                self.splitter_factory(s, &splitter_name)?
            }
        };
        // Deliberate difference: Heka reads `decoder = ""` as "unset", so TcpInput always
        // decoded protobuf; an explicit empty string here means "no decoder".
        let no_decoder = matches!(s.get("decoder"), Some(toml::Value::String(d)) if d.is_empty());
        let decoder_name = match common.decoder.as_deref().or(default_decoder) {
            Some(d) if !no_decoder => Some(d.to_string()),
            _ => None,
        };
        let decoder_stats = StatsSlot::default();
        let decoder = match &decoder_name {
            Some(d) => Some(self.decoder_factory(s, d, &decoder_stats)?),
            None => None,
        };
        let stats = Arc::new(StreamStats::default());
        let streams = StreamShared {
            input_name: s.name.clone(),
            logger: heka_message::intern(s.name.as_bytes()),
            splitter,
            splitter_options,
            decoder,
            send_decode_failures: common.send_decode_failures.unwrap_or(false),
            log_decode_failures: common.log_decode_failures.unwrap_or(true),
            max_message_size: globals.max_message_size,
            router: shared.router.clone(),
            stats: stats.clone(),
            // Heka's default: decoding on a task of its own unless `synchronous_decode`.
            decode_pool: (decoder_name.is_some() && !common.synchronous_decode.unwrap_or(false))
                .then(crate::runner::decode::DecodePool::new),
        };
        let t = Arc::new(Template {
            section: s.clone(),
            options,
        });
        let plugin_stats = StatsSlot::default();
        let input = build_reporting(
            spec.build,
            &s.name,
            &t,
            &self.env,
            self.check_only,
            Decoders::default(),
            plugin_stats.clone(),
        )?;
        let build = spec.build;
        let g = self.env.clone();
        let name = s.name.clone();
        report.entries.push(ReportEntry::input(
            &s.name,
            stats,
            &splitter_name,
            decoder_name.as_deref(),
            [plugin_stats.clone(), decoder_stats],
        ));
        Ok(Some(InputRunner {
            ctx: InputContext {
                name: s.name.as_str().into(),
                stop: shared.input_stop.clone(),
                streams: Arc::new(streams),
                globals: globals.clone(),
                ticker: common.ticker_interval.map(std::time::Duration::from_secs),
                shutdown: shared.shutdown.clone(),
                splitter_type,
            },
            input,
            rebuild: Box::new(move || {
                let stats = plugin_stats.clone();
                build_reporting(build, &name, &t, &g, false, Decoders::default(), stats)
                    .map_err(|e| e.to_string())
            }),
            backoff: backoff(&common.retries),
            can_exit: common.can_exit.unwrap_or(spec.can_exit),
            shutdown: shared.shutdown.clone(),
        }))
    }

    pub(crate) fn filter_output(
        &self,
        s: &Section,
        shared: &Shared,
        report: &mut Report,
    ) -> Result<Option<BuiltFo>, ConfigError> {
        let is_output = s.kind == PluginKind::Output;
        let (common, options) = s.common_filter_output(is_output)?;
        let t = Arc::new(Template {
            section: s.clone(),
            options,
        });
        let g = self.env.clone();
        let n = s.name.clone();
        let mut encoder = None;
        let mut encoder_name = None;
        let mut use_framing = false;
        // The plugin type's own disk queue defaults (TcpOutput's: on, 128 MiB segments).
        let mut buffering_default = None;
        let plugin_stats = StatsSlot::default();
        let encoder_stats = StatsSlot::default();
        let rebuild_stats = plugin_stats.clone();
        let (default_matcher, ticker_support, can_exit_default, plugin, rebuild): (
            _,
            _,
            bool,
            FoPlugin,
            Rebuild,
        ) = if is_output {
            let Some(spec) = self.registry.output(&s.type_name) else {
                return Ok(None);
            };
            let mut encoder_type = String::new();
            match common.encoder.as_deref().or(spec.default_encoder) {
                Some(e) => {
                    let (enc, ty) = self.encoder(s, e, &encoder_stats)?;
                    encoder = Some(enc);
                    encoder_name = Some(e.to_string());
                    encoder_type = ty;
                }
                None if spec.encoder_required => {
                    let Some(e) = spec.legacy_encoder else {
                        return Err(
                            s.error(Some("encoder"), format!("{} requires an encoder", s.name))
                        );
                    };
                    tracing::warn!(
                        "{}",
                        s.error(
                            Some("encoder"),
                            format!(
                                "{} requires an encoder since Heka 0.10: using {e}, which \
                                     writes what Heka 0.8/0.9 wrote; add encoder = \"{e}\"",
                                s.type_name
                            )
                        )
                    );
                    let (enc, ty) = self.encoder(s, e, &encoder_stats)?;
                    encoder = Some(enc);
                    encoder_name = Some(e.to_string());
                    encoder_type = ty;
                }
                None => {}
            }
            use_framing = common.use_framing.unwrap_or(match spec.framing {
                FramingDefault::Never => false,
                FramingDefault::Always => true,
                FramingDefault::WhenProtobuf => encoder_type == "ProtobufEncoder",
            });
            buffering_default = spec.buffering;
            let stats = plugin_stats.clone();
            let d = Decoders::default();
            let plugin = build_reporting(spec.build, &s.name, &t, &g, self.check_only, d, stats)?;
            let build = spec.build;
            (
                spec.default_matcher,
                spec.ticker,
                spec.can_exit,
                FoPlugin::Output(plugin),
                Box::new(move || {
                    let (d, stats) = (Decoders::default(), rebuild_stats.clone());
                    build_reporting(build, &n, &t, &g, false, d, stats)
                        .map(FoPlugin::Output)
                        .map_err(|e| e.to_string())
                }),
            )
        } else {
            let Some(spec) = self.registry.filter(&s.type_name) else {
                return Ok(None);
            };
            let stats = plugin_stats.clone();
            let d = Decoders::default();
            let plugin = build_reporting(spec.build, &s.name, &t, &g, self.check_only, d, stats)?;
            let build = spec.build;
            (
                spec.default_matcher,
                spec.ticker,
                spec.can_exit,
                FoPlugin::Filter(plugin),
                Box::new(move || {
                    let (d, stats) = (Decoders::default(), rebuild_stats.clone());
                    build_reporting(build, &n, &t, &g, false, d, stats)
                        .map(FoPlugin::Filter)
                        .map_err(|e| e.to_string())
                }),
            )
        };
        let tick = ticker(s, ticker_support, common.ticker_interval)?;
        let matcher = matcher(s, common.message_matcher.as_deref(), default_matcher)?;
        let buffer = if common.use_buffering.unwrap_or(buffering_default.is_some()) {
            // Heka compat: a `buffering` table replaces the type's defaults wholesale.
            let config = common.buffering.or(buffering_default).unwrap_or_default();
            self.buffer(s, config)?
        } else {
            None
        };
        let ((main, inject), lanes) = router::lanes(self.globals.plugin_chansize);
        let (ctl, ctl_rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(FoStats::default());
        if let Some(b) = &buffer {
            let _ = stats.queue.set(b.writer.size_handle());
        }
        let matched = Arc::new(router::MatchStats::default());
        report.entries.push(ReportEntry::filter_output(
            &s.name,
            is_output,
            &lanes,
            stats.clone(),
            matched.clone(),
            encoder_name.as_deref(),
            [plugin_stats, encoder_stats],
        ));
        let name: Arc<str> = s.name.as_str().into();
        let destination = Destination {
            name: name.clone(),
            matcher: matcher.clone(),
            signer: common.message_signer.clone().map(Bytes::from),
            main,
            inject,
            stats: matched,
            sample_denominator: self.globals.sample_denominator,
            sample_first: self.globals.plugin_chansize as u64,
        };
        let runner = FoRunner {
            name,
            type_name: s.type_name.clone(),
            matcher,
            lanes,
            ctl: ctl_rx,
            ticker: tick,
            encoder,
            use_framing,
            rebuild,
            backoff: backoff(&common.retries),
            can_exit: common.can_exit.unwrap_or(can_exit_default),
            router: shared.router.clone(),
            shutdown: shared.shutdown.clone(),
            draining: shared.draining.clone(),
            shutdown_seen: Default::default(),
            globals: self.globals.clone(),
            hostname: Bytes::from(self.globals.hostname.clone()),
            stats,
            scratch: Vec::new(),
            control: shared.control.clone(),
            buffer,
        };
        Ok(Some(BuiltFo {
            runner,
            plugin,
            destination,
            ctl,
        }))
    }
}

impl Builder<'_> {
    /// Opens the disk queue of a section with `use_buffering` (only checks it under `-test`).
    fn buffer(&self, s: &Section, config: BufferingConfig) -> Result<Option<Buffer>, ConfigError> {
        let options = QueueOptions {
            max_file_size: config.max_file_size,
            max_buffer_size: config.max_buffer_size,
            cursor_update_count: config.cursor_update_count,
            max_message_size: self.globals.max_message_size,
        };
        let min = heka_message::framing::max_record_size(options.max_message_size) as u64;
        if options.max_file_size < min {
            return Err(s.error(
                Some("buffering"),
                format!("`max_file_size` must be greater than maximum record size of {min}"),
            ));
        }
        let dir = queue::queue_dir(&self.globals.base_dir, &s.name);
        if let Some(other) = self.queues.borrow_mut().insert(dir.clone(), s.name.clone()) {
            return Err(s.error(
                Some("use_buffering"),
                format!(
                    "'{}' and '{other}' would share the queue directory {}",
                    s.name,
                    dir.display()
                ),
            ));
        }
        if self.check_only {
            return Ok(None);
        }
        let (writer, reader) = queue::open(&dir, options)
            .map_err(|e| s.error(Some("use_buffering"), format!("can't open the queue: {e}")))?;
        Ok(Some(Buffer {
            writer,
            reader,
            full_action: config.full_action,
        }))
    }
}

fn ticker(
    section: &Section,
    support: Ticker,
    configured: Option<u64>,
) -> Result<Option<std::time::Duration>, ConfigError> {
    let secs = match (support, configured) {
        (Ticker::Unsupported, Some(_)) => {
            return Err(section.error(
                Some("ticker_interval"),
                format!("'{}' can't support a ticker_interval setting", section.name),
            ));
        }
        (_, Some(s)) => Some(s),
        (Ticker::Default(d), None) => Some(d),
        _ => None,
    };
    Ok(secs.map(std::time::Duration::from_secs))
}

fn matcher(
    section: &Section,
    configured: Option<&str>,
    default: Option<&str>,
) -> Result<Matcher, ConfigError> {
    let text = configured.or(default).ok_or_else(|| {
        section.error(
            Some("message_matcher"),
            format!("'{}' missing message matcher", section.name),
        )
    })?;
    Matcher::parse(text).map_err(|e| section.error(Some("message_matcher"), e))
}

impl Pipeline {
    /// Builds a pipeline from `config` with the plugin types of `registry`.
    pub fn build(config: &Config, registry: &Registry) -> Result<Pipeline, BuildErrors> {
        Pipeline::build_with(config, registry, false)
    }

    /// `hekad -test`: checks everything [`Pipeline::build`] checks, without taking any resource
    /// (plugins bind, open, create and connect nothing), so it can run beside a hekad that
    /// already runs the same config. The result must not be started.
    pub fn check(config: &Config, registry: &Registry) -> Result<(), BuildErrors> {
        Pipeline::build_with(config, registry, true).map(drop)
    }

    fn build_with(
        config: &Config,
        registry: &Registry,
        check_only: bool,
    ) -> Result<Pipeline, BuildErrors> {
        let globals = Arc::new(config.globals.clone());
        let links = Links::new(
            config
                .sections
                .iter()
                .map(|s| (s.name.as_str(), s.type_name.as_str())),
        );
        let env = Env {
            globals: globals.clone(),
            links: Arc::new(links),
        };
        let mut b = Builder::new(registry, env.clone(), check_only);
        let mut sections: Vec<Section> = config.sections.clone();
        // Heka's always-registered defaults, plus the default splitter/decoder/encoder of every
        // input and output type the config uses.
        // A splitter, decoder or encoder named by its registered type without a section of that
        // name is created with default options too.
        let mut defaults: Vec<&str> = DEFAULT_SECTIONS.to_vec();
        for s in &config.sections {
            if let Some(i) = registry.input(&s.type_name) {
                defaults.push(i.default_splitter);
                defaults.extend(i.default_decoder);
            }
            if let Some(o) = registry.output(&s.type_name) {
                defaults.extend(o.default_encoder);
                defaults.extend(o.legacy_encoder);
            }
            for key in ["splitter", "decoder", "encoder"] {
                if let Some(toml::Value::String(v)) = s.get(key) {
                    defaults.push(v.as_str());
                }
            }
        }
        defaults.sort_unstable();
        defaults.dedup();
        for d in defaults {
            if sections.iter().any(|s| s.name == d) {
                continue;
            }
            let Some(kind) = PluginKind::from_type_name(d) else {
                continue;
            };
            if registry.has(kind, d)
                && let Ok(c) = config::load_str(&format!("[{d}]\n"), Path::new("<defaults>"))
            {
                sections.extend(c.sections);
            }
        }
        for s in &sections {
            if !registry.has(s.kind, &s.type_name) {
                b.errors.push(unregistered(s));
            }
        }
        // Templates: splitters, decoders, encoders. Their own options are checked once each,
        // decoders once all decoder sections are known (a decoder may build others by name).
        let mut decoder_templates = Vec::new();
        for s in &sections {
            if !matches!(
                s.kind,
                PluginKind::Splitter | PluginKind::Decoder | PluginKind::Encoder
            ) || !registry.has(s.kind, &s.type_name)
            {
                continue;
            }
            let split = match s.kind {
                PluginKind::Splitter => s.common_splitter().map(|(_, o)| o),
                _ => s.no_common(),
            };
            let options = match split {
                Ok(options) => options,
                Err(e) => {
                    b.errors.push(e);
                    continue;
                }
            };
            let t = Template {
                section: s.clone(),
                options,
            };
            let r = match s.kind {
                PluginKind::Splitter => registry
                    .splitter(&s.type_name)
                    .map(|sp| build_instance(sp.build, &s.name, &t, &env, check_only).map(drop)),
                PluginKind::Decoder => {
                    if let Some(sp) = registry.decoder(&s.type_name) {
                        decoder_templates.push((sp.build, Arc::new(t)));
                    }
                    continue;
                }
                _ => registry
                    .encoder(&s.type_name)
                    .map(|sp| build_instance(sp.build, &s.name, &t, &env, check_only).map(drop)),
            };
            match r {
                Some(Err(e)) => b.errors.push(e),
                _ => {
                    b.templates.insert(s.name.clone(), Arc::new(t));
                }
            }
        }
        let decoder_sections = Arc::new(DecoderTemplates {
            env: env.clone(),
            by_name: decoder_templates
                .iter()
                .map(|(build, t)| (t.section.name.clone(), (*build, t.clone())))
                .collect(),
            unregistered: sections
                .iter()
                .filter(|s| s.kind == PluginKind::Decoder && !registry.has(s.kind, &s.type_name))
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
        });
        for (build, t) in decoder_templates {
            let decoders = Decoders::new(&*decoder_sections);
            match build_with_decoders(build, &t.section.name, &t, &env, check_only, decoders) {
                // A decoder that builds a broken one fails with that one's error: report it
                // once.
                Err(e) => {
                    if !b.errors.iter().any(|x| x.to_string() == e.to_string()) {
                        b.errors.push(e);
                    }
                }
                Ok(_) => {
                    b.templates.insert(t.section.name.clone(), t);
                }
            }
        }
        b.decoders = decoder_sections;

        let router = Arc::new(Router::default());
        let input_stop = stop_signal();
        let draining = stop_signal();
        let (shutdown_tx, shutdown_rx) = crossbeam_channel::unbounded();
        let shutdown = ShutdownHandle(shutdown_tx);
        let report: Arc<parking_lot::Mutex<Vec<ReportEntry>>> = Arc::default();
        let control = FilterControl::new(
            registry,
            env.clone(),
            router.clone(),
            input_stop.clone(),
            draining.clone(),
            shutdown.clone(),
            report.clone(),
        );
        let mut p = Pipeline {
            globals: globals.clone(),
            router: router.clone(),
            input_stop: input_stop.clone(),
            draining: draining.clone(),
            inputs: Vec::new(),
            filters: Vec::new(),
            outputs: Vec::new(),
            controls: Vec::new(),
            shutdown_rx,
            shutdown: shutdown.clone(),
            report: Report {
                entries: Vec::new(),
                dynamic: report,
            },
            control: control.clone(),
        };

        let shared = Shared {
            router: router.clone(),
            input_stop: input_stop.clone(),
            draining: draining.clone(),
            shutdown: shutdown.clone(),
            control,
        };
        for s in sections.iter().filter(|s| s.kind == PluginKind::Input) {
            match b.input(s, &shared, &mut p.report) {
                Ok(Some(i)) => p.inputs.push(i),
                Ok(None) => {}
                Err(e) => b.errors.push(e),
            }
        }
        for s in sections
            .iter()
            .filter(|s| matches!(s.kind, PluginKind::Filter | PluginKind::Output))
        {
            match b.filter_output(s, &shared, &mut p.report) {
                Ok(Some(fo)) => {
                    router.add(fo.destination);
                    p.controls.push(fo.ctl);
                    if s.kind == PluginKind::Output {
                        p.outputs.push((fo.runner, fo.plugin));
                    } else {
                        p.filters.push((fo.runner, fo.plugin));
                    }
                }
                Ok(None) => {}
                Err(e) => b.errors.push(e),
            }
        }
        // Links between sections, now that every plugin has published what it provides.
        let failed: std::collections::HashSet<&str> =
            b.errors.iter().filter_map(|e| e.section()).collect();
        let link_errors = env.links.check(&failed);
        b.errors.extend(link_errors);
        if b.errors.is_empty() {
            Ok(p)
        } else {
            Err(BuildErrors(b.errors))
        }
    }

    /// The `[hekad]` globals in force.
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// Starts outputs, then filters, then inputs, each on its own thread.
    pub fn start(self) -> std::io::Result<Running> {
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.chars().take(15).collect())
                .spawn(f)
        };
        let mut queues = Vec::new();
        let mut check = |r: &FoRunner| {
            if let Some(b) = &r.buffer {
                queues.push(StartCheck {
                    name: r.name.clone(),
                    size: b.writer.size_handle(),
                    full_action: b.full_action,
                });
            }
        };
        let mut outputs = Vec::new();
        for (r, plugin) in self.outputs {
            check(&r);
            let name = r.name.to_string();
            outputs.push((name.clone(), spawn(&name, Box::new(move || r.run(plugin)))?));
            tracing::info!("Output started: {name}");
        }
        let mut filters = Vec::new();
        for (r, plugin) in self.filters {
            check(&r);
            let name = r.name.to_string();
            filters.push((name.clone(), spawn(&name, Box::new(move || r.run(plugin)))?));
            tracing::info!("Filter started: {name}");
        }
        let mut inputs = Vec::new();
        let retries = self.globals.full_buffer_max_retries;
        let start_inputs = match delay_start(&queues, retries, &self.draining) {
            Ok(()) => self.inputs,
            Err(reason) => {
                // hekad shuts down without starting the inputs.
                tracing::error!("{reason}");
                self.shutdown.request(1, reason);
                Vec::new()
            }
        };
        for r in start_inputs {
            let name = r.ctx.name.to_string();
            inputs.push((name.clone(), spawn(&name, Box::new(move || r.run()))?));
            tracing::info!("Input started: {name}");
        }
        Ok(Running {
            router: self.router,
            input_stop: self.input_stop,
            draining: self.draining,
            inputs,
            filters,
            outputs,
            controls: self.controls,
            shutdown_rx: self.shutdown_rx,
            report: Arc::new(self.report),
            control: self.control,
        })
    }
}

/// A running pipeline.
pub struct Running {
    router: Arc<Router>,
    input_stop: Arc<StopSignal>,
    draining: Arc<StopSignal>,
    inputs: Vec<(String, JoinHandle<()>)>,
    filters: Vec<(String, JoinHandle<()>)>,
    outputs: Vec<(String, JoinHandle<()>)>,
    controls: Vec<Sender<Control>>,
    shutdown_rx: Receiver<ShutdownRequest>,
    report: Arc<Report>,
    control: FilterControl,
}

impl Running {
    /// Requests from runners to shut hekad down (a plugin stopped without `can_exit`).
    pub fn shutdown_requests(&self) -> &Receiver<ShutdownRequest> {
        &self.shutdown_rx
    }

    /// SIGHUP: asks every output to reopen its files.
    pub fn reload(&self) {
        for c in &self.controls {
            let _ = c.send(Control::Reload);
        }
    }

    /// The address the input `name` listens on, once it has started and said so (the port an
    /// `address = "…:0"` got).
    pub fn input_address(&self, name: &str) -> Option<String> {
        self.report.address(name)
    }

    /// The all-report as Heka's text table (SIGUSR1).
    pub fn report_text(&self) -> String {
        self.report.text(&self.router)
    }

    /// Every field of one report component (`"Filters"`, `"counter"`), the ones the text
    /// leaves out too; `None` when there is no such component.
    pub fn report_fields(&self, category: &str, name: &str) -> Option<Vec<(&'static str, String)>> {
        self.report
            .fields(&self.router)
            .into_iter()
            .filter(|(c, _)| *c == category)
            .flat_map(|(_, components)| components)
            .find_map(|(n, fields)| (n == name).then_some(fields))
    }

    /// Stops in Heka's order: inputs; then filters (their channels drain, and what they inject
    /// still reaches the outputs); then outputs, which write out everything they hold.
    ///
    /// Shutdown starts for everyone at once: from now on a message whose delivery keeps
    /// failing is retried for a grace period only, and a plugin waiting to restart stops
    /// waiting, so the drain ends even when a destination is down.
    pub fn stop(self) {
        self.draining.stop();
        self.input_stop.stop();
        for (name, h) in self.inputs {
            tracing::info!("Stop message sent to input '{name}'");
            let _ = h.join();
        }
        for (name, h) in self.filters {
            self.router.remove(&name);
            tracing::info!("Stop message sent to filter '{name}'");
            let _ = h.join();
        }
        // Then the filters started at run time (nothing starts any more).
        self.control.stop_all();
        for (name, h) in self.outputs {
            self.router.remove(&name);
            tracing::info!("Stop message sent to output '{name}'");
            let _ = h.join();
        }
        tracing::info!("Shutdown complete.");
    }

    /// Stops (as [`Running::stop`]) on a thread of its own, so the caller can still act, e.g.
    /// on a second SIGTERM while a destination holds the drain up.
    pub fn stop_in_background(self) -> std::io::Result<Stopping> {
        let (tx, done) = crossbeam_channel::bounded(1);
        let report = self.report.clone();
        std::thread::Builder::new()
            .name("shutdown".into())
            .spawn(move || {
                self.stop();
                let _ = tx.send(());
            })?;
        Ok(Stopping { done, report })
    }
}

/// A pipeline being stopped (see [`Running::stop_in_background`]).
pub struct Stopping {
    done: Receiver<()>,
    report: Arc<Report>,
}

impl Stopping {
    /// Receives once the shutdown is complete.
    pub fn done(&self) -> &Receiver<()> {
        &self.done
    }

    /// One line per filter or output that still has deliveries waiting in its channels.
    pub fn undelivered(&self) -> Vec<String> {
        self.report.waiting()
    }
}
