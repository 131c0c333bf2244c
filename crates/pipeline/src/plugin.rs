//! The six plugin kinds.
//!
//! Heka's split: a plugin author writes only the behaviour of that one type; the runners in
//! [`crate::runner`] do what all plugins share (channels, matching, splitting, decoding,
//! retries, tickers, injection limits, encoding, acknowledgement).
//!
//! * [`Splitter`], [`Decoder`] and [`Encoder`] are synchronous, take `&mut self`, write into
//!   buffers the caller owns and do no I/O.
//! * [`Input`], [`Filter`] and [`Output`] run on their own threads, each with a context handed
//!   to it by its runner; they never see a channel or the router.
//! * Every processing call returns `Result<_, ProcessError>`: Heka's `RetryMessageError` and
//!   `PluginExitError` as a closed enum.

use std::ops::Range;

use bytes::Bytes;

use crate::pack::Pack;
pub use crate::runner::dynamic::{FilterControl, StartError};
pub use crate::runner::filter_output::{
    FilterContext, InjectError, OutputContext, SHUTDOWN_RETRY_GRACE,
};
pub use crate::runner::input::{Connections, InputContext};
pub use crate::runner::stream::Stream;

/// What a processing call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Retry the same message after a back-off (Heka's `RetryMessageError`).
    #[error("{0}")]
    Retry(String),
    /// Log the error and drop this message; the plugin goes on.
    #[error("{0}")]
    Drop(String),
    /// The plugin cannot go on (Heka's `PluginExitError`); its `retries` policy applies.
    #[error("{0}")]
    Fatal(String),
    /// The plugin has stopped for good (a sandbox terminated by an error or a limit): it is
    /// not restarted whatever its `retries` say; with `can_exit` it leaves the pipeline,
    /// otherwise hekad shuts down. Heka's plugins that did not implement `Restarting`.
    #[error("{0}")]
    Exit(String),
}

/// A decoder or encoder failure for one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

impl CodecError {
    /// A codec error with the given text.
    pub fn new(msg: impl Into<String>) -> CodecError {
        CodecError(msg.into())
    }
}

/// Result of [`Splitter::find_record`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Bytes at the start of the buffer that are consumed (skipped garbage plus the record).
    pub consumed: usize,
    /// The record, as a range of the buffer, when one was found. A splitter that unframes (the
    /// `HekaFramingSplitter`) returns the message bytes without the framing.
    pub record: Option<Range<usize>>,
    /// The signer name verified for this record (framing splitters only).
    pub signer: Option<Bytes>,
}

/// Finds record boundaries in a byte stream (Heka's `Splitter.FindRecord`).
///
/// The runner owns the buffer, grows it up to the maximum record size, handles
/// `keep_truncated`, `deliver_incomplete_final` and `use_message_bytes`, and calls
/// `find_record` until it consumes nothing.
pub trait Splitter: Send {
    /// Looks for the next record at the start of `buf`. Returning `consumed == 0` with no record
    /// means "need more data".
    fn find_record(&mut self, buf: &[u8]) -> Split;
}

/// Whether a decoded pack goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Route the (possibly changed) pack, then any extra packs the decoder produced.
    Keep,
    /// Drop the pack silently (route only the extra packs, if any).
    Drop,
}

/// Turns a pack's raw record or payload into a structured message.
pub trait Decoder: Send {
    /// Decodes `pack` in place; may push additional packs to `extra`.
    ///
    /// On error the runner tags or drops the pack (`send_decode_failures`, `log_decode_failures`).
    fn decode(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Result<Decoded, CodecError>;

    /// Whether each message's result depends on that message alone (the decoder keeps no state
    /// from one call to the next), so that a busy stream's batches may be decoded by several
    /// instances at once on the input's decode threads; the stream's order is kept all the
    /// same. Default: false, one instance per stream, as in Heka.
    fn parallel_safe(&self) -> bool {
        false
    }
}

/// Serialises a message for an output.
pub trait Encoder: Send {
    /// Appends the encoding of `pack` to `out`. Appending nothing means "skip this message".
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError>;
}

/// A source of data. `run` blocks until the input ends or the context says it is stopping.
pub trait Input: Send {
    /// Runs the input: reads data and hands it to [`Stream`]s obtained from the context.
    ///
    /// Returning `Ok(())` while the pipeline is not stopping means the input ended on its own.
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError>;
}

/// Processes matched messages and may inject new ones.
pub trait Filter: Send {
    /// Processes one matched message.
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError>;

    /// Called once on the runner's thread before the first message, and again after each
    /// restart (e.g. to start the filters a manager saved).
    fn start(&mut self, _ctx: &mut FilterContext<'_>) {}

    /// Called every `ticker_interval` seconds when the plugin has a ticker.
    fn timer_event(
        &mut self,
        _ctx: &mut FilterContext<'_>,
        _now_ns: i64,
    ) -> Result<(), ProcessError> {
        Ok(())
    }

    /// Called once when the filter stops, after the last message.
    fn shutdown(&mut self, _ctx: &mut FilterContext<'_>) {}
}

/// Writes matched messages somewhere outside hekad.
pub trait Output: Send {
    /// Takes one matched message (usually encoding it with `ctx.encode`).
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError>;

    /// Called after each batch and each tick. Writes out what must be written now and returns
    /// whether everything taken so far has been written (handed to the kernel or the
    /// destination). Delivery acknowledgements are released only after a `true`.
    fn flush(&mut self, _ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        Ok(true)
    }

    /// Called every `ticker_interval` seconds when the plugin has a ticker.
    fn timer_event(
        &mut self,
        _ctx: &mut OutputContext<'_>,
        _now_ns: i64,
    ) -> Result<(), ProcessError> {
        Ok(())
    }

    /// SIGHUP: reopen files and the like.
    fn reload(&mut self, _ctx: &mut OutputContext<'_>) {}

    /// Called once when the output stops: write out everything still buffered.
    fn shutdown(&mut self, _ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        Ok(())
    }
}
