//! Heka's common options per plugin kind (spec §4.5; pipeline/config.go
//! `CommonInputConfig`, `CommonSplitterConfig`, `CommonFOConfig`,
//! pipeline/retry_helper.go `RetryOptions`, pipeline/queue_buffer.go
//! `QueueBufferConfig`).
//!
//! Options whose default a plugin may override are `Option`s: `None` means
//! "not set in the TOML", and the pipeline builder then applies the plugin's
//! own default, then Heka's. Following Heka, `decoder = ""`, `splitter = ""`,
//! `encoder = ""`, `message_matcher = ""`, `message_signer = ""`,
//! `ticker_interval = 0` and `min_buffer_size = 0` also mean "not set".

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::duration::parse_go_duration;

/// Keys of [`CommonInput`].
pub const INPUT_KEYS: &[&str] = &[
    "decoder",
    "splitter",
    "synchronous_decode",
    "send_decode_failures",
    "log_decode_failures",
    "can_exit",
    "ticker_interval",
    "retries",
];

/// Keys of [`CommonSplitter`].
pub const SPLITTER_KEYS: &[&str] = &[
    "keep_truncated",
    "use_message_bytes",
    "min_buffer_size",
    "deliver_incomplete_final",
];

/// Keys of [`CommonFilterOutput`]. `encoder` and `use_framing` only mean
/// something for outputs.
pub const FILTER_OUTPUT_KEYS: &[&str] = &[
    "message_matcher",
    "message_signer",
    "ticker_interval",
    "can_exit",
    "retries",
    "use_buffering",
    "buffering",
    "encoder",
    "use_framing",
];

/// Options common to every input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonInput {
    /// Name of the decoder section to use; `None` = the input's default.
    #[serde(deserialize_with = "non_empty")]
    pub decoder: Option<String>,
    /// Name of the splitter section to use; `None` = the input's default
    /// (Heka's is `NullSplitter`).
    #[serde(deserialize_with = "non_empty")]
    pub splitter: Option<String>,
    /// Decode in the input's thread instead of a decoder task.
    pub synchronous_decode: Option<bool>,
    /// Route messages that fail to decode instead of dropping them.
    pub send_decode_failures: Option<bool>,
    /// Log decode failures; `None` = true. (Heka presets this to true before
    /// decoding, so a plugin's own default never applies.)
    pub log_decode_failures: Option<bool>,
    /// The input may exit without shutting Heka down.
    pub can_exit: Option<bool>,
    /// Ticker interval in seconds; `None` (also for `0`) = the input's
    /// default.
    #[serde(deserialize_with = "ticker")]
    pub ticker_interval: Option<u64>,
    /// Restart policy.
    pub retries: RetryOptions,
}

/// Options common to every splitter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonSplitter {
    /// Deliver an oversized record truncated instead of dropping it.
    pub keep_truncated: Option<bool>,
    /// Hand the record to the decoder as message bytes (protobuf) instead of
    /// as the payload of a new message.
    pub use_message_bytes: Option<bool>,
    /// Initial read buffer size in bytes; `None` (also for `0`) = the
    /// splitter's default (8 KiB; NullSplitter 64 KiB). Must not exceed
    /// MAX_RECORD_SIZE, which the pipeline builder checks.
    #[serde(deserialize_with = "non_zero_usize")]
    pub min_buffer_size: Option<usize>,
    /// At end of stream, deliver leftover bytes as a final record.
    pub deliver_incomplete_final: Option<bool>,
}

/// Options common to filters and outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonFilterOutput {
    /// Message matcher expression; `None` = the plugin's default, if any.
    #[serde(deserialize_with = "non_empty")]
    pub message_matcher: Option<String>,
    /// Only messages signed by this signer name are matched.
    #[serde(deserialize_with = "non_empty")]
    pub message_signer: Option<String>,
    /// Timer interval in seconds; `None` (also for `0`) = the plugin's
    /// default (no timer).
    #[serde(deserialize_with = "ticker")]
    pub ticker_interval: Option<u64>,
    /// The plugin may exit without shutting Heka down.
    pub can_exit: Option<bool>,
    /// Restart policy.
    pub retries: RetryOptions,
    /// Deliver through a disk queue.
    pub use_buffering: Option<bool>,
    /// Disk queue settings; `None` when the `buffering` table is absent (a
    /// present table replaces a plugin's own buffering defaults wholesale).
    pub buffering: Option<BufferingConfig>,
    /// Outputs only: name of the encoder section.
    #[serde(deserialize_with = "non_empty")]
    pub encoder: Option<String>,
    /// Outputs only: prepend Heka stream framing to the encoder's output.
    pub use_framing: Option<bool>,
}

/// The `retries` sub-table: a plugin's restart policy, and the back-off that
/// Heka's internal retry loops use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "RawRetryOptions")]
pub struct RetryOptions {
    /// Upper bound (exclusive) of the random jitter added to each wait.
    pub max_jitter: Duration,
    /// The first wait.
    pub delay: Duration,
    /// The cap of the doubling wait.
    pub max_delay: Duration,
    /// Number of restarts; -1 = forever, 0 = never restart.
    pub max_retries: i64,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_jitter: Duration::from_millis(500),
            delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retries: -1,
        }
    }
}

impl RetryOptions {
    /// The successive waits of this policy, with fresh random jitter.
    pub fn delays(&self) -> RetryDelays {
        self.delays_with_rng(fastrand::Rng::new())
    }

    /// [`RetryOptions::delays`] drawing the jitter from `rng` (for
    /// reproducible tests).
    pub fn delays_with_rng(&self, rng: fastrand::Rng) -> RetryDelays {
        RetryDelays {
            options: *self,
            current: self.delay,
            attempts: 0,
            rng,
        }
    }
}

/// Iterator over the waits of a [`RetryOptions`] policy (Heka's
/// `RetryHelper.Wait`): wait n sleeps `current + uniform[0, max_jitter)`, then
/// `current = min(current * 2, max_delay)`, starting from `delay`. It ends
/// once `max_retries` waits were handed out (never when `max_retries` is -1).
#[derive(Debug, Clone)]
pub struct RetryDelays {
    options: RetryOptions,
    current: Duration,
    attempts: i64,
    rng: fastrand::Rng,
}

impl RetryDelays {
    /// Starts over after a success: the next wait is `delay` again and the
    /// retry count is zero.
    pub fn reset(&mut self) {
        self.current = self.options.delay;
        self.attempts = 0;
    }

    /// Number of waits handed out since creation or the last reset.
    pub fn attempts(&self) -> i64 {
        self.attempts
    }
}

impl Iterator for RetryDelays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Heka compat (pipeline/retry_helper.go): only exactly -1 means
        // "forever"; any other negative count allows no retry at all.
        if self.options.max_retries != -1 && self.attempts >= self.options.max_retries {
            return None;
        }
        // Heka compat: Go's random call panics on a zero bound, so a zero
        // `max_jitter` crashed Heka; we treat it as "no jitter".
        let bound = u64::try_from(self.options.max_jitter.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if bound == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.rng.u64(0..bound))
        };
        let wait = self.current.saturating_add(jitter);
        // Heka compat: the doubled value is capped, the first wait is not, so
        // a `delay` above `max_delay` is used once as is.
        self.current = self.current.saturating_mul(2).min(self.options.max_delay);
        self.attempts = self.attempts.saturating_add(1);
        Some(wait)
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawRetryOptions {
    #[serde(deserialize_with = "retry_duration")]
    max_jitter: Option<Duration>,
    #[serde(deserialize_with = "retry_duration")]
    delay: Option<Duration>,
    #[serde(deserialize_with = "retry_duration")]
    max_delay: Option<Duration>,
    max_retries: i64,
}

impl Default for RawRetryOptions {
    fn default() -> Self {
        RawRetryOptions {
            max_jitter: None,
            delay: None,
            max_delay: None,
            max_retries: RetryOptions::default().max_retries,
        }
    }
}

impl From<RawRetryOptions> for RetryOptions {
    fn from(raw: RawRetryOptions) -> Self {
        let default = RetryOptions::default();
        RetryOptions {
            max_jitter: raw.max_jitter.unwrap_or(default.max_jitter),
            delay: raw.delay.unwrap_or(default.delay),
            max_delay: raw.max_delay.unwrap_or(default.max_delay),
            max_retries: raw.max_retries,
        }
    }
}

/// What a buffered plugin does when its disk queue reaches `max_buffer_size`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FullAction {
    /// Shut Heka down.
    #[default]
    Shutdown,
    /// Drop the message.
    Drop,
    /// Block until there is room (back-pressure).
    Block,
}

impl FullAction {
    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FullAction::Shutdown => "shutdown",
            FullAction::Drop => "drop",
            FullAction::Block => "block",
        }
    }
}

impl<'de> Deserialize<'de> for FullAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "shutdown" => Ok(FullAction::Shutdown),
            "drop" => Ok(FullAction::Drop),
            "block" => Ok(FullAction::Block),
            other => Err(serde::de::Error::custom(format!(
                "`full_action` must be 'shutdown', 'drop', or 'block', got {other}"
            ))),
        }
    }
}

/// The `buffering` sub-table (disk queue of a filter or output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "RawBuffering")]
pub struct BufferingConfig {
    /// Size at which a queue file is rolled; `0` in the TOML = the default
    /// (512 MiB). Must be at least MAX_RECORD_SIZE, which the buffer checks.
    pub max_file_size: u64,
    /// Cap on the whole queue; `None` (`0` in the TOML) = unlimited.
    pub max_buffer_size: Option<u64>,
    /// What to do when the queue is full.
    pub full_action: FullAction,
    /// Records between checkpoint writes; `0` in the TOML means 1.
    pub cursor_update_count: u64,
}

impl BufferingConfig {
    /// Heka's default `max_file_size`: 512 MiB.
    pub const DEFAULT_MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;
}

impl Default for BufferingConfig {
    fn default() -> Self {
        RawBuffering::default().into()
    }
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawBuffering {
    max_file_size: u64,
    max_buffer_size: u64,
    full_action: FullAction,
    cursor_update_count: u64,
}

impl From<RawBuffering> for BufferingConfig {
    fn from(raw: RawBuffering) -> Self {
        BufferingConfig {
            max_file_size: if raw.max_file_size == 0 {
                BufferingConfig::DEFAULT_MAX_FILE_SIZE
            } else {
                raw.max_file_size
            },
            max_buffer_size: (raw.max_buffer_size > 0).then_some(raw.max_buffer_size),
            full_action: raw.full_action,
            cursor_update_count: raw.cursor_update_count.max(1),
        }
    }
}

/// A string option where `""` means "not set".
fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok((!text.is_empty()).then_some(text))
}

/// `ticker_interval`: whole seconds, `0` meaning "not set".
fn ticker<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let seconds = u64::deserialize(deserializer)?;
    Ok((seconds > 0).then_some(seconds))
}

/// A size where `0` means "not set".
fn non_zero_usize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    let value = usize::deserialize(deserializer)?;
    Ok((value > 0).then_some(value))
}

/// A `retries` duration; `""` means the default, as in Heka's
/// `NewRetryHelper`.
fn retry_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Ok(None);
    }
    parse_go_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn retry_defaults() {
        let r = RetryOptions::default();
        assert_eq!(r.max_jitter, ms(500));
        assert_eq!(r.delay, ms(250));
        assert_eq!(r.max_delay, Duration::from_secs(30));
        assert_eq!(r.max_retries, -1);
    }

    #[test]
    fn waits_double_up_to_max_delay_without_jitter() {
        let r = RetryOptions {
            max_jitter: Duration::ZERO,
            delay: ms(250),
            max_delay: ms(1500),
            max_retries: 6,
        };
        let waits: Vec<_> = r.delays().collect();
        assert_eq!(
            waits,
            [ms(250), ms(500), ms(1000), ms(1500), ms(1500), ms(1500)]
        );
    }

    #[test]
    fn jitter_is_added_below_max_jitter() {
        let r = RetryOptions {
            max_jitter: ms(100),
            delay: ms(10),
            max_delay: ms(40),
            max_retries: -1,
        };
        let mut delays = r.delays_with_rng(fastrand::Rng::with_seed(7));
        let bases = [10, 20, 40, 40, 40, 40, 40, 40];
        let mut saw_jitter = false;
        for base in bases {
            let wait = delays.next().unwrap();
            assert!(
                wait >= ms(base) && wait < ms(base + 100),
                "{wait:?} vs {base}"
            );
            saw_jitter |= wait != ms(base);
        }
        assert!(saw_jitter);
        // Forever: still going.
        assert!(delays.nth(1000).is_some());
        assert_eq!(delays.attempts(), bases.len() as i64 + 1001);
    }

    #[test]
    fn max_retries_limits_and_reset_restarts() {
        let r = RetryOptions {
            max_jitter: Duration::ZERO,
            max_retries: 2,
            ..RetryOptions::default()
        };
        let mut delays = r.delays();
        assert_eq!(delays.next(), Some(ms(250)));
        assert_eq!(delays.next(), Some(ms(500)));
        assert_eq!(delays.next(), None);
        delays.reset();
        assert_eq!(delays.attempts(), 0);
        assert_eq!(delays.next(), Some(ms(250)));

        let never = RetryOptions {
            max_retries: 0,
            ..RetryOptions::default()
        };
        assert_eq!(never.delays().next(), None);
        let odd = RetryOptions {
            max_retries: -2,
            ..RetryOptions::default()
        };
        assert_eq!(odd.delays().next(), None);
    }

    #[test]
    fn delay_above_max_delay_is_used_once() {
        let r = RetryOptions {
            max_jitter: Duration::ZERO,
            delay: ms(5000),
            max_delay: ms(1000),
            max_retries: 3,
        };
        let waits: Vec<_> = r.delays().collect();
        assert_eq!(waits, [ms(5000), ms(1000), ms(1000)]);
    }

    #[test]
    fn buffering_defaults() {
        let b = BufferingConfig::default();
        assert_eq!(b.max_file_size, 512 * 1024 * 1024);
        assert_eq!(b.max_buffer_size, None);
        assert_eq!(b.full_action, FullAction::Shutdown);
        assert_eq!(b.cursor_update_count, 1);
        assert_eq!(FullAction::Block.as_str(), "block");
    }
}
