//! LogstreamerInput: tails log files, following them through rotation, and resumes after a
//! restart where the outputs stopped acknowledging.
//!
//! ```toml
//! [nginx_access]
//! type = "LogstreamerInput"
//! log_directory = "/var/log/nginx"
//! file_match = 'access\.log\.?(?P<Seq>\d*)'
//! priority = ["^Seq"]            # access.log.2, access.log.1, access.log
//! # differentiator = ["nginx_access"]  # default: the input's name
//! # oldest_duration = "720h"      # "0": no limit
//! # journal_directory = "<base_dir>/logstreamer"
//! # rescan_interval = "1m"
//! # check_data_interval = "250ms"
//! # hostname = "<the hekad hostname>"
//! # initial_tail = false
//! # splitter = "TokenSplitter"
//! decoder = "nginx_access_decoder"
//!
//! # [nginx_access.translation.Seq]
//! # missing = 9999
//! ```
//!
//! A *logstream* is one logical log spread over several files (rotations, dated files); one
//! input finds every logstream under `log_directory` (see [`files`]), each with its own
//! splitter, decoder and journal `<journal_directory>/<logstream name>` in Heka's format (see
//! [`journal`]). Each record becomes a message with Type `logfile`, Logger = the logstream's
//! name, Hostname = `hostname`, Payload = the record. One thread per input serves all its
//! logstreams: it reads each in turn until every one is at its end, then polls again after
//! `check_data_interval`; the directory is walked again every `rescan_interval`, and at once
//! when a file is found rotated.
//!
//! Differences from Heka:
//! - The journal records only positions whose messages every output that matched them has
//!   acknowledged, so a kill -9 never skips a line (Heka saved what the splitter had read);
//!   lines after the last save may be read again. Stopping waits up to 10 s for outstanding
//!   acknowledgements before the last save.
//! - Journals are replaced atomically (Heka truncated and rewrote them in place).
//! - Rotation is followed by device and inode, and the incomplete last line of a rotated file
//!   is delivered on its own instead of being joined to the next file's first line.
//! - A read error (a corrupt gzip member) skips to the next file of the logstream instead of
//!   starting the whole logstream again from its oldest file.
//! - Many files do not cost a goroutine each: one thread per input reads them all.
//! - An invalid `file_match` is a config error (Heka panicked).

pub mod files;
pub mod journal;
mod logstream;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_pipeline::config::{ConfigError, Section, parse_go_duration};
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;

use files::{FileSet, FileSetOptions, Scan};
use logstream::{Logstream, Settings};

/// Bytes read per call.
const READ_SIZE: usize = 64 * 1024;

/// Reads per logstream per turn, so that one busy file does not starve the others.
const READS_PER_TURN: usize = 16;

/// How long stopping waits for outstanding acknowledgements.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// LogstreamerInput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LogstreamerConfig {
    log_directory: String,
    file_match: String,
    priority: Vec<String>,
    differentiator: Vec<String>,
    translation: HashMap<String, HashMap<String, i64>>,
    oldest_duration: String,
    journal_directory: String,
    rescan_interval: String,
    check_data_interval: String,
    hostname: String,
    initial_tail: bool,
}

impl Default for LogstreamerConfig {
    fn default() -> Self {
        LogstreamerConfig {
            log_directory: "/var/log".into(),
            file_match: String::new(),
            priority: Vec::new(),
            differentiator: Vec::new(),
            translation: HashMap::new(),
            oldest_duration: "720h".into(),
            journal_directory: String::new(),
            rescan_interval: "1m".into(),
            check_data_interval: "250ms".into(),
            hostname: String::new(),
            initial_tail: false,
        }
    }
}

/// A LogstreamerInput instance.
struct LogstreamerInput {
    set: FileSet,
    /// The scan made at build time, used for the first logstreams.
    first_scan: Option<Scan>,
    /// The journals read at build time, by logstream name.
    first_positions: HashMap<String, journal::Position>,
    journal_directory: PathBuf,
    rescan_interval: Duration,
    check_data_interval: Duration,
    hostname: Bytes,
    initial_tail: bool,
}

fn duration(ctx: &BuildContext<'_>, option: &str, text: &str) -> Result<Duration, ConfigError> {
    parse_go_duration(text).map_err(|e| ctx.error(Some(option), e))
}

/// The file-finding options of a parsed config; `name` is the input's name (the default
/// differentiator).
fn file_set_options(
    c: &LogstreamerConfig,
    name: &str,
) -> Result<FileSetOptions, (&'static str, String)> {
    let oldest =
        parse_go_duration(&c.oldest_duration).map_err(|e| ("oldest_duration", e.to_string()))?;
    let differentiator = if c.differentiator.is_empty() {
        vec![name.to_string()]
    } else {
        c.differentiator.clone()
    };
    Ok(FileSetOptions {
        log_directory: PathBuf::from(&c.log_directory),
        file_match: c.file_match.clone(),
        priority: c.priority.clone(),
        differentiator,
        translation: c.translation.clone(),
        oldest_duration: (!oldest.is_zero()).then_some(oldest),
    })
}

/// The files a LogstreamerInput section finds (for `heka-logstreamer`).
pub fn file_set(section: &Section) -> Result<FileSet, ConfigError> {
    let (_, options) = section.common_input()?;
    let c: LogstreamerConfig = options.parse()?;
    let opts =
        file_set_options(&c, &section.name).map_err(|(opt, e)| section.error(Some(opt), e))?;
    FileSet::new(opts).map_err(|e| section.error(Some(e.option), e))
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: LogstreamerConfig = ctx.options.parse()?;
    let rescan_interval = duration(ctx, "rescan_interval", &c.rescan_interval)?;
    let check_data_interval = duration(ctx, "check_data_interval", &c.check_data_interval)?;
    let opts = file_set_options(&c, ctx.name).map_err(|(opt, e)| ctx.error(Some(opt), e))?;
    let journal_directory = if c.journal_directory.is_empty() {
        ctx.globals.base_dir.join("logstreamer")
    } else {
        PathBuf::from(&c.journal_directory)
    };
    let (set, first_scan, first_positions) = if ctx.check_only {
        let set = FileSet::check(opts).map_err(|e| ctx.error(Some(e.option), e))?;
        (set, None, HashMap::new())
    } else {
        let set = FileSet::new(opts).map_err(|e| ctx.error(Some(e.option), e))?;
        let scan = set.scan();
        // Heka compat: at init, an unsortable logstream or an unreadable journal is fatal.
        if let Some(e) = scan.unsortable.first() {
            return Err(ctx.error(Some("priority"), e));
        }
        let mut positions = HashMap::new();
        for name in scan.streams.keys() {
            let pos = journal::load(&journal_directory.join(name))
                .map_err(|e| ctx.error(Some("journal_directory"), e))?;
            positions.insert(name.clone(), pos);
        }
        (set, Some(scan), positions)
    };
    let hostname = if c.hostname.is_empty() {
        ctx.globals.hostname.clone()
    } else {
        c.hostname
    };
    Ok(Box::new(LogstreamerInput {
        set,
        first_scan,
        first_positions,
        journal_directory,
        rescan_interval,
        check_data_interval,
        hostname: Bytes::from(hostname),
        initial_tail: c.initial_tail,
    }))
}

impl LogstreamerInput {
    /// Creates logstreams for new names and hands every logstream its files.
    fn apply(
        &mut self,
        ctx: &InputContext,
        streams: &mut Vec<Logstream>,
        scan: Scan,
    ) -> Result<(), ProcessError> {
        for e in scan.errors.iter().chain(&scan.unsortable) {
            tracing::error!(input = %ctx.name(), "{e}");
        }
        for (name, files) in scan.streams {
            if let Some(ls) = streams.iter_mut().find(|s| s.name() == name) {
                ls.set_files(files);
                continue;
            }
            let journal_path = self.journal_directory.join(&name);
            let prior = match self.first_positions.remove(&name) {
                Some(pos) => pos,
                None => journal::load(&journal_path).unwrap_or_else(|e| {
                    tracing::error!(input = %ctx.name(), "{e}; reading {name} from its start");
                    Default::default()
                }),
            };
            let mut stream = ctx.stream()?;
            stream.set_decoration(
                Some(Bytes::from_static(b"logfile")),
                Some(self.hostname.clone()),
            );
            stream.set_logger(Bytes::from(name.clone()));
            let mut ls = Logstream::new(name, stream, journal_path, prior);
            ls.set_files(files);
            streams.push(ls);
        }
        Ok(())
    }
}

impl Input for LogstreamerInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o744)
                .create(&self.journal_directory)
                .map_err(|e| {
                    ProcessError::Fatal(format!(
                        "journal_directory {}: {e}",
                        self.journal_directory.display()
                    ))
                })?;
        }
        let settings = Settings {
            initial_tail: self.initial_tail,
            input: ctx.name().to_string(),
        };
        let mut streams = Vec::new();
        let first = self.first_scan.take().unwrap_or_else(|| self.set.scan());
        self.apply(ctx, &mut streams, first)?;
        let mut next_rescan = Instant::now() + self.rescan_interval;
        let mut scratch = vec![0u8; READ_SIZE];
        // The logstream each turn starts with.
        let mut first = 0;
        while !ctx.stopping() {
            if Instant::now() >= next_rescan {
                let scan = self.set.scan();
                self.apply(ctx, &mut streams, scan)?;
                next_rescan = Instant::now() + self.rescan_interval;
            }
            // While one logstream waits for room in a destination (or in a decode thread's
            // queue), the others only retry what they already hold and read nothing new: the
            // input holds at most about one read's messages beyond the channels, however many
            // files are behind. A turn that starts with a logstream waiting reads nothing at
            // all (else each turn would let one more logstream read and wait). The turn starts
            // one logstream further each time, so a backlog is read fairly.
            let mut busy = false;
            let mut blocked = streams.iter().any(Logstream::is_blocked);
            let n = streams.len();
            for k in 0..n {
                let ls = &mut streams[(first + k) % n];
                if blocked {
                    ls.retry();
                } else {
                    busy |= ls.turn(&self.set, &settings, &mut scratch, READS_PER_TURN);
                }
                blocked |= ls.is_blocked();
                ls.save_acked(false);
            }
            first = if n == 0 { 0 } else { (first + 1) % n };
            if !busy {
                if blocked {
                    // Wait on the first blocked logstream: it resumes as soon as there is room.
                    let wait = Duration::from_millis(10).min(self.rescan_interval);
                    if let Some(ls) = streams.iter_mut().find(|ls| ls.is_blocked()) {
                        ls.wait_for_room(wait);
                    }
                } else if ctx.sleep(self.check_data_interval.min(self.rescan_interval)) {
                    break;
                }
            }
        }
        // The outputs still run while inputs stop: wait for what they have not acknowledged yet.
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            let outstanding: u64 = streams
                .iter_mut()
                .map(|ls| {
                    ls.save_acked(false);
                    ls.outstanding()
                })
                .sum();
            if outstanding == 0 {
                break;
            }
            if Instant::now() >= deadline {
                tracing::warn!(input = %ctx.name(), "stopping with {outstanding} batches unacknowledged; their lines will be read again at the next start");
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for ls in streams.iter_mut() {
            ls.save_acked(true);
            if let Some((path, offset)) = ls.reading() {
                tracing::debug!(input = %ctx.name(), logstream = %ls.name(), "stopped in {} at {offset}", path.display());
            }
        }
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "LogstreamerInput",
    summary: "Tails log files through rotation, resuming from a journal of acknowledged positions.",
    default_splitter: "TokenSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};
