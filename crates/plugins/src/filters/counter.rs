//! CounterFilter: counts the messages it sees and reports throughput.
//!
//! ```toml
//! [CounterFilter]
//! # message_matcher = "Type != 'heka.counter-output'"   # the default
//! # ticker_interval = 5                                 # the default (seconds)
//! ```
//!
//! No options of its own. Every tick with new messages it injects a message of Type
//! `heka.counter-output` (Logger = the filter's name) with the payload
//! `Got <total> messages. <rate> msg/sec`, the rate being over the time since the last report.
//! Every tenth report it also injects `AGG Sum. Min: <min>    Max: <max>    Mean: <mean>` over
//! the last ten rates. A tick with no new messages reports nothing, and the next rate then
//! spans the idle time too.
//!
//! The default matcher excludes its own reports: a filter cannot inject messages its own
//! matcher matches.
//!
//! Differences from Heka:
//! - Reports have a message loop count of 1; Heka used that of the last message counted.
//! - When injecting the tenth report fails, the rates are cleared anyway; Heka stopped
//!   producing `AGG` lines for good.

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Filter, FilterContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FilterSpec, Ticker};
use serde::Deserialize;

/// Type of the injected reports.
const OUTPUT_TYPE: &str = "heka.counter-output";
/// Reports per `AGG` summary.
const SAMPLES: usize = 10;

/// CounterFilter has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterFilterConfig {}

/// Counts messages.
#[derive(Debug)]
struct CounterFilter {
    count: u64,
    last_count: u64,
    last_time_ns: i64,
    rates: Vec<f64>,
}

impl CounterFilter {
    fn new(now_ns: i64) -> CounterFilter {
        CounterFilter {
            count: 0,
            last_count: 0,
            last_time_ns: now_ns,
            rates: Vec::with_capacity(SAMPLES),
        }
    }

    /// The report payloads due at `now_ns`: none when nothing new was counted, one per tick,
    /// and the summary every tenth report.
    fn tally(&mut self, now_ns: i64) -> Vec<String> {
        let sent = self.count - self.last_count;
        if sent == 0 {
            return Vec::new();
        }
        let elapsed = (now_ns - self.last_time_ns).max(1) as f64 / 1e9;
        self.last_count = self.count;
        self.last_time_ns = now_ns;
        let rate = sent as f64 / elapsed;
        self.rates.push(rate);
        let mut out = vec![format!("Got {} messages. {rate:.2} msg/sec", self.count)];
        if self.rates.len() == SAMPLES {
            // Heka compat: pipeline/counter_filter.go sums the sorted rates.
            self.rates.sort_by(f64::total_cmp);
            let (min, max) = (self.rates[0], self.rates[SAMPLES - 1]);
            let mean = self.rates.iter().sum::<f64>() / SAMPLES as f64;
            // Heka compat: pipeline/counter_filter.go separates the numbers with four spaces.
            out.push(format!(
                "AGG Sum. Min: {min:.2}    Max: {max:.2}    Mean: {mean:.2}"
            ));
            self.rates.clear();
        }
        out
    }
}

impl Filter for CounterFilter {
    fn process_message(
        &mut self,
        _pack: &Pack,
        _ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        self.count += 1;
        Ok(())
    }

    fn timer_event(
        &mut self,
        ctx: &mut FilterContext<'_>,
        now_ns: i64,
    ) -> Result<(), ProcessError> {
        for payload in self.tally(now_ns) {
            let mut m = ctx.new_message();
            m.set_type(OUTPUT_TYPE);
            m.set_logger(ctx.name().to_string());
            m.set_payload(payload);
            if let Err(e) = ctx.inject(m) {
                tracing::error!(filter = %ctx.name(), "{e}");
            }
        }
        Ok(())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, ConfigError> {
    let _: CounterFilterConfig = ctx.options.parse()?;
    Ok(Box::new(CounterFilter::new(heka_message::now_ns())))
}

pub(super) const SPEC: FilterSpec = FilterSpec {
    type_name: "CounterFilter",
    summary: "Counts messages and injects throughput reports.",
    default_matcher: Some("Type != 'heka.counter-output'"),
    ticker: Ticker::Default(5),
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn reports_total_count_and_interval_rate() {
        let mut f = CounterFilter::new(0);
        f.count = 1200;
        assert_eq!(f.tally(5 * SEC), ["Got 1200 messages. 240.00 msg/sec"]);
        // Nothing new: no report, and the next rate spans the idle tick too.
        assert!(f.tally(10 * SEC).is_empty());
        f.count += 100;
        assert_eq!(f.tally(15 * SEC), ["Got 1300 messages. 10.00 msg/sec"]);
        f.count += 1;
        assert_eq!(f.tally(18 * SEC), ["Got 1301 messages. 0.33 msg/sec"]);
    }

    #[test]
    fn summarises_every_ten_reports() {
        let mut f = CounterFilter::new(0);
        let mut t = 0;
        let mut summaries = Vec::new();
        for round in 1..=25 {
            f.count += round * 10;
            t += SEC;
            let out = f.tally(t);
            assert!(out[0].starts_with("Got "), "{out:?}");
            if out.len() == 2 {
                summaries.push((round, out[1].clone()));
            }
        }
        assert_eq!(
            summaries,
            [
                (
                    10,
                    "AGG Sum. Min: 10.00    Max: 100.00    Mean: 55.00".to_string()
                ),
                (
                    20,
                    "AGG Sum. Min: 110.00    Max: 200.00    Mean: 155.00".to_string()
                ),
            ]
        );
        assert_eq!(f.rates.len(), 5);
    }

    /// UDP lines → CounterFilter with its default matcher and ticker → FileOutput of its
    /// reports. The first report comes on the first tick, 5 s after the pipeline started.
    #[test]
    fn reports_every_five_seconds_by_default() {
        use heka_pipeline::config::load_str;
        use heka_pipeline::runner::build::Pipeline;
        use std::time::{Duration, Instant};

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("counter.log");
        let port = crate::support::testing::free_udp_port();
        let toml = format!(
            r#"
[hekad]
hostname = "counter-host"

[lines]
type = "UdpInput"
address = "127.0.0.1:{port}"
splitter = "TokenSplitter"

[CounterFilter]

[RstEncoder]

[reports]
type = "FileOutput"
message_matcher = "Type == 'heka.counter-output'"
path = "{}"
encoder = "RstEncoder"
flush_interval = 0
"#,
            out.display()
        );
        let cfg = load_str(&toml, std::path::Path::new("test.toml")).unwrap();
        let pipeline = Pipeline::build(&cfg, &crate::builtin()).unwrap();
        let started = Instant::now();
        let running = pipeline.start().unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(b"one\ntwo\nthree\n", ("127.0.0.1", port))
            .unwrap();
        let deadline = started + Duration::from_secs(30);
        let (text, elapsed) = loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            // The report is complete once its last line (Severity) is.
            let complete = text
                .split_once(":Severity: ")
                .is_some_and(|(_, rest)| rest.contains('\n'));
            if complete || Instant::now() > deadline {
                break (text, started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        running.stop();
        assert!(
            elapsed >= Duration::from_secs(5),
            "reported after {elapsed:?}: {text}"
        );
        assert_eq!(text.matches(":Payload: ").count(), 1, "{text}");
        let rate = text
            .split_once(":Payload: Got 3 messages. ")
            .and_then(|(_, rest)| rest.split_once(" msg/sec\n"))
            .map(|(rate, _)| rate.parse::<f64>().unwrap())
            .unwrap_or_else(|| panic!("no report of 3 messages: {text}"));
        // Three messages over at least the 5 s since the filter was built.
        assert!(rate > 0.0 && rate <= 0.6, "{rate}: {text}");
        assert!(text.contains(":Type: heka.counter-output\n"), "{text}");
        assert!(text.contains(":Logger: CounterFilter\n"), "{text}");
        assert!(text.contains(":Hostname: counter-host\n"), "{text}");
    }

    /// The default matcher counts every message except the filter's own reports.
    #[test]
    fn default_matcher_skips_only_its_own_reports() {
        let text = SPEC
            .default_matcher
            .expect("CounterFilter has a default matcher");
        let m = heka_matcher::Matcher::parse(text).unwrap();
        let with_type = |t: &str| {
            let mut msg = heka_message::Message::default();
            msg.set_type(t.to_string());
            msg
        };
        assert!(!m.matches(&with_type(OUTPUT_TYPE)));
        assert!(m.matches(&with_type("heka.counter-output-not")));
        assert!(m.matches(&with_type("nginx.access")));
        assert!(m.matches(&heka_message::Message::default()));
    }
}
