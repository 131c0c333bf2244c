//! MultiDecoder: runs a chain of other decoders, named by their config sections.
//!
//! ```toml
//! [access_line]
//! type = "PayloadRegexDecoder"
//! match_regex = '^(?P<Method>[A-Z]+) (?P<Path>\S+) (?P<Status>\d+)$'
//! [access_line.message_fields]
//! Type = "access"
//! Status = "%Status%"
//!
//! [tag_env]
//! type = "ScribbleDecoder"
//! [tag_env.message_fields]
//! Env = "production"
//!
//! [access_multi]
//! type = "MultiDecoder"
//! subs = ["access_line", "tag_env"]
//! cascade_strategy = "all"     # or "first-wins" (the default)
//! log_sub_errors = true        # default false
//! ```
//!
//! Options:
//! - `subs` (required, at least one): names of decoder sections, in order. Each MultiDecoder
//!   instance builds its own instances of them (named `<its name>-<sub>`); a sub may itself be
//!   a MultiDecoder, but subs may not refer back to a decoder whose build led to them.
//! - `cascade_strategy`: `first-wins` tries the subs in order on the message and stops at the
//!   first that succeeds; its result (with any extra messages) is the result. `all` runs every
//!   sub in order on every message so far: a message a sub decodes is replaced by what the sub
//!   returns (itself and its extras), one it fails on is kept as it is for the next sub.
//! - `log_sub_errors`: log each sub's failure as `Subdecoder '<sub>' decode error: <error>`.
//!
//! A sub that drops the message without an error (PayloadRegexDecoder with `log_errors =
//! false`) counts as failed, as in Heka. When no sub succeeds on any message the decode fails
//! with `All subdecoders failed.`; a sub that failed may already have changed the message (as
//! in Heka).
//!
//! Differences from Heka:
//! - No `heka.all-report` timing fields (`ProcessMessageCount-<sub>` etc.); the decode counters
//!   are kept per input by the runner.
//! - Sub-decoders log under their own name `<multi>-<sub>` instead of through a wrapper runner.

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec, SubDecoderError};
use serde::Deserialize;

/// MultiDecoder options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MultiDecoderConfig {
    /// Decoder section names, in order.
    subs: Vec<String>,
    /// `first-wins` or `all`.
    cascade_strategy: String,
    /// Log each sub's decode error.
    log_sub_errors: bool,
}

impl Default for MultiDecoderConfig {
    fn default() -> Self {
        MultiDecoderConfig {
            subs: Vec::new(),
            cascade_strategy: "first-wins".into(),
            log_sub_errors: false,
        }
    }
}

/// How the subs are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cascade {
    /// Stop at the first sub that succeeds.
    FirstWins,
    /// Every sub on every message so far.
    All,
}

/// What one sub did with one pack.
enum Outcome {
    /// Decoded: the pack (if kept) and then the sub's extra packs replace it.
    Decoded(Decoded),
    /// Failed: the pack goes on as it is.
    Failed,
}

/// Runs its subs in order.
struct MultiDecoder {
    name: String,
    subs: Vec<(String, Box<dyn Decoder>)>,
    cascade: Cascade,
    log_sub_errors: bool,
    /// Extra packs of the sub being called.
    produced: Vec<Pack>,
}

impl MultiDecoder {
    /// Calls sub `i` on `pack`; its extra packs are left in `self.produced`.
    fn call(&mut self, i: usize, pack: &mut Pack) -> Outcome {
        self.produced.clear();
        let (name, sub) = &mut self.subs[i];
        match sub.decode(pack, &mut self.produced) {
            Ok(Decoded::Keep) => Outcome::Decoded(Decoded::Keep),
            // Dropping the pack while producing others is a success.
            Ok(Decoded::Drop) if !self.produced.is_empty() => Outcome::Decoded(Decoded::Drop),
            // Heka compat: pipeline/multidecoder.go treats "no packs" as a failure, with or
            // without an error.
            Ok(Decoded::Drop) => Outcome::Failed,
            Err(e) => {
                if self.log_sub_errors {
                    // Heka compat: pipeline/multidecoder.go's text.
                    tracing::error!(decoder = %self.name, "Subdecoder '{name}' decode error: {e}");
                }
                self.produced.clear();
                Outcome::Failed
            }
        }
    }

    fn first_wins(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Option<Decoded> {
        for i in 0..self.subs.len() {
            if let Outcome::Decoded(d) = self.call(i, pack) {
                extra.append(&mut self.produced);
                return Some(d);
            }
        }
        None
    }

    fn all(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Option<Decoded> {
        let mut packs = vec![std::mem::take(pack)];
        let mut next = Vec::new();
        let mut any = false;
        for i in 0..self.subs.len() {
            for mut p in packs.drain(..) {
                match self.call(i, &mut p) {
                    Outcome::Decoded(d) => {
                        any = true;
                        if d == Decoded::Keep {
                            next.push(p);
                        }
                        next.append(&mut self.produced);
                    }
                    Outcome::Failed => next.push(p),
                }
            }
            std::mem::swap(&mut packs, &mut next);
        }
        let mut packs = packs.into_iter();
        // When every sub failed, the only pack is the original, unchanged by any success.
        let first = packs.next()?;
        *pack = first;
        if !any {
            return None;
        }
        extra.extend(packs);
        Some(Decoded::Keep)
    }
}

impl Decoder for MultiDecoder {
    fn decode(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        let result = match self.cascade {
            Cascade::FirstWins => self.first_wins(pack, extra),
            Cascade::All => self.all(pack, extra),
        };
        // Heka compat: pipeline/multidecoder.go's text.
        result.ok_or_else(|| CodecError::new("All subdecoders failed."))
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: MultiDecoderConfig = ctx.options.parse()?;
    // Heka compat: the error texts of pipeline/multidecoder.go and pipeline/config.go.
    if c.subs.is_empty() {
        return Err(ctx.error(Some("subs"), "At least one subdecoder must be specified."));
    }
    let cascade = match c.cascade_strategy.as_str() {
        "first-wins" => Cascade::FirstWins,
        "all" => Cascade::All,
        other => {
            return Err(ctx.error(
                Some("cascade_strategy"),
                format!("Unrecognized cascade strategy: {other}"),
            ));
        }
    };
    let mut subs = Vec::with_capacity(c.subs.len());
    for name in c.subs {
        let sub = ctx.build_decoder(&name).map_err(|e| match e {
            SubDecoderError::Missing => {
                ctx.error(Some("subs"), format!("Non-existent subdecoder: {name}"))
            }
            SubDecoderError::Circular => ctx.error(
                Some("subs"),
                format!("circular dependency detected: subdecoder {name}"),
            ),
            SubDecoderError::Config(e) => e,
        })?;
        subs.push((name, sub));
    }
    Ok(Box::new(MultiDecoder {
        name: ctx.name.to_string(),
        subs,
        cascade,
        log_sub_errors: c.log_sub_errors,
        produced: Vec::new(),
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "MultiDecoder",
    summary: "Runs a chain of named decoders, first-wins or all.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::{Field, FieldValue, Message};

    /// Heka's multidecoder_test.go subs.
    const SUBS: &str = r#"
[StartsWithM]
type = "PayloadRegexDecoder"
match_regex = '^(?P<TheData>m.*)'
log_errors = true
[StartsWithM.message_fields]
StartsWithM = "%TheData%"

[StartsWithS]
type = "PayloadRegexDecoder"
match_regex = '^(?P<TheData>s.*)'
log_errors = true
[StartsWithS.message_fields]
StartsWithS = "%TheData%"

[StartsWithM2]
type = "PayloadRegexDecoder"
match_regex = '^(?P<TheData>m.*)'
log_errors = true
[StartsWithM2.message_fields]
StartsWithM2 = "%TheData%"
"#;

    fn multi(options: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        let config = format!("{SUBS}\n[multi]\ntype = \"MultiDecoder\"\n{options}\n");
        crate::support::testing::build_decoder_in(&config, "multi")
    }

    fn pack(payload: &str) -> Pack {
        let mut m = Message::new_now();
        m.set_payload(payload.to_string());
        Pack::new(m)
    }

    fn has(m: &Message, name: &str) -> bool {
        m.find_first_field(name.as_bytes()).is_some()
    }

    /// Which of Heka's three fields the decoded message has.
    fn decode(d: &mut dyn Decoder, payload: &str) -> (Result<Decoded, CodecError>, [bool; 3]) {
        let mut p = pack(payload);
        let mut extra = Vec::new();
        let r = d.decode(&mut p, &mut extra);
        assert!(extra.is_empty());
        let m = p.message();
        (
            r,
            [
                has(m, "StartsWithM"),
                has(m, "StartsWithS"),
                has(m, "StartsWithM2"),
            ],
        )
    }

    fn failed() -> Result<Decoded, CodecError> {
        Err(CodecError::new("All subdecoders failed."))
    }

    #[test]
    fn one_sub() {
        let mut d = multi("subs = ['StartsWithM']").unwrap();
        let mut p = pack("matching text");
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        assert_eq!(
            p.message().field_value(b"StartsWithM"),
            Some(Some(FieldValue::String(b"matching text")))
        );
        assert_eq!(decode(&mut *d, "non-matching text").0, failed());
        let mut d = multi("subs = ['StartsWithM']\nlog_sub_errors = true").unwrap();
        assert_eq!(decode(&mut *d, "non-matching text").0, failed());
    }

    #[test]
    fn first_wins_by_default() {
        let mut d = multi("subs = ['StartsWithM', 'StartsWithS', 'StartsWithM2']").unwrap();
        assert_eq!(
            decode(&mut *d, "match first"),
            (Ok(Decoded::Keep), [true, false, false])
        );
        assert_eq!(
            decode(&mut *d, "second match"),
            (Ok(Decoded::Keep), [false, true, false])
        );
        assert_eq!(decode(&mut *d, "won't match"), (failed(), [false; 3]));
    }

    #[test]
    fn all_runs_every_sub() {
        let mut d = multi(
            "subs = ['StartsWithM', 'StartsWithS', 'StartsWithM2']\ncascade_strategy = 'all'",
        )
        .unwrap();
        assert_eq!(
            decode(&mut *d, "matches twice"),
            (Ok(Decoded::Keep), [true, false, true])
        );
        assert_eq!(
            decode(&mut *d, "second match"),
            (Ok(Decoded::Keep), [false, true, false])
        );
        assert_eq!(decode(&mut *d, "won't match"), (failed(), [false; 3]));
        // The pack handed back on failure is the original.
        let mut p = pack("won't match");
        let before = p.clone();
        assert!(d.decode(&mut p, &mut Vec::new()).is_err());
        assert_eq!(p, before);
    }

    /// Heka's `MultiOutputDecoder`: a message with a `skipit` field fails; any other comes
    /// back with two copies, the first tagged `skipit`.
    struct MultiOutput;

    impl Decoder for MultiOutput {
        fn decode(
            &mut self,
            pack: &mut Pack,
            extra: &mut Vec<Pack>,
        ) -> Result<Decoded, CodecError> {
            if has(pack.message(), "skipit") {
                return Err(CodecError::new("Skipped"));
            }
            let mut tagged = pack.message().clone();
            tagged.add_field(Field::new_string("skipit", "skipit"));
            extra.push(Pack::new(tagged));
            extra.push(Pack::new(pack.message().clone()));
            Ok(Decoded::Keep)
        }
    }

    /// Drops every message, producing one new message instead.
    struct Replace;

    impl Decoder for Replace {
        fn decode(&mut self, _: &mut Pack, extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
            extra.push(pack("replacement"));
            Ok(Decoded::Drop)
        }
    }

    /// Drops every message silently (PayloadRegexDecoder with `log_errors = false`).
    struct Silent;

    impl Decoder for Silent {
        fn decode(&mut self, _: &mut Pack, _: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
            Ok(Decoded::Drop)
        }
    }

    fn direct(cascade: Cascade, subs: Vec<Box<dyn Decoder>>) -> MultiDecoder {
        MultiDecoder {
            name: "m".into(),
            subs: subs
                .into_iter()
                .enumerate()
                .map(|(i, d)| (format!("sub{i}"), d))
                .collect(),
            cascade,
            log_sub_errors: true,
            produced: Vec::new(),
        }
    }

    #[test]
    fn all_decodes_every_pack_so_far() {
        // Heka's "always tries to decode all packs": 3 → 7 → 15 packs.
        let mut d = direct(
            Cascade::All,
            vec![
                Box::new(MultiOutput),
                Box::new(MultiOutput),
                Box::new(MultiOutput),
            ],
        );
        let mut p = pack("x");
        let mut extra = Vec::new();
        assert_eq!(d.decode(&mut p, &mut extra), Ok(Decoded::Keep));
        assert_eq!(1 + extra.len(), 15);
        assert!(!has(p.message(), "skipit"));
        let tagged = extra.iter().filter(|p| has(p.message(), "skipit")).count();
        assert_eq!(tagged, 7);
    }

    #[test]
    fn dropping_subs() {
        // A drop with a replacement is a success: the replacement takes the pack's place.
        let mut d = direct(Cascade::All, vec![Box::new(Replace), Box::new(Silent)]);
        let mut p = pack("original");
        let mut extra = Vec::new();
        assert_eq!(d.decode(&mut p, &mut extra), Ok(Decoded::Keep));
        assert_eq!(p.message().payload_bytes(), b"replacement");
        assert!(extra.is_empty());

        let mut d = direct(
            Cascade::FirstWins,
            vec![Box::new(Silent), Box::new(Replace)],
        );
        let mut p = pack("original");
        assert_eq!(d.decode(&mut p, &mut extra), Ok(Decoded::Drop));
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].message().payload_bytes(), b"replacement");

        // A silent drop alone is a failure.
        let mut d = direct(Cascade::FirstWins, vec![Box::new(Silent)]);
        assert_eq!(d.decode(&mut pack("x"), &mut Vec::new()), failed());
        let mut d = direct(Cascade::All, vec![Box::new(Silent)]);
        assert_eq!(d.decode(&mut pack("x"), &mut Vec::new()), failed());
    }

    #[test]
    fn nested_multi_decoders() {
        let mut d = crate::support::testing::build_decoder_in(
            &format!(
                "{SUBS}
[inner]
type = 'MultiDecoder'
subs = ['StartsWithM', 'StartsWithM2']
cascade_strategy = 'all'
[outer]
type = 'MultiDecoder'
subs = ['StartsWithS', 'inner']
"
            ),
            "outer",
        )
        .unwrap();
        assert_eq!(
            decode(&mut *d, "more"),
            (Ok(Decoded::Keep), [true, false, true])
        );
        assert_eq!(
            decode(&mut *d, "some"),
            (Ok(Decoded::Keep), [false, true, false])
        );
        assert_eq!(decode(&mut *d, "none"), (failed(), [false; 3]));
    }

    #[test]
    fn config_errors() {
        let err = |config: &str, name: &str| {
            crate::support::testing::build_decoder_in(config, name)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let m = |opts: &str| err(&format!("{SUBS}\n[m]\ntype = 'MultiDecoder'\n{opts}"), "m");
        assert!(m("").contains("At least one subdecoder must be specified."));
        assert!(m("subs = []").contains("At least one subdecoder must be specified."));
        assert!(m("subs = ['Nope']").contains("Non-existent subdecoder: Nope"));
        assert!(
            m("subs = ['StartsWithM']\ncascade_strategy = 'most'")
                .contains("Unrecognized cascade strategy: most")
        );
        assert!(m("subs = ['m']").contains("circular dependency detected"));
        assert!(!m("subs = 'StartsWithM'").is_empty());
        assert!(!m("subs = ['StartsWithM']\nsub = []").is_empty());
        let e = err(
            "[a]\ntype = 'MultiDecoder'\nsubs = ['b']\n\
             [b]\ntype = 'MultiDecoder'\nsubs = ['c']\n\
             [c]\ntype = 'MultiDecoder'\nsubs = ['a']\n",
            "a",
        );
        assert!(e.contains("circular dependency detected"), "{e}");
        // A broken sub reports its own error.
        let e = err(
            "[bad]\ntype = 'PayloadRegexDecoder'\nmatch_regex = 'x'\n\
             [m]\ntype = 'MultiDecoder'\nsubs = ['bad']\n",
            "m",
        );
        assert!(e.contains("capture groups"), "{e}");
        // A decoder used twice is fine (each use gets its own instance).
        assert!(
            crate::support::testing::build_decoder_in(
                &format!(
                    "{SUBS}\n[m]\ntype = 'MultiDecoder'\nsubs = ['StartsWithM', 'StartsWithM']"
                ),
                "m"
            )
            .is_ok()
        );
    }

    /// What hekad reports for a config: each error once, a MultiDecoder checked even when no
    /// input uses it.
    #[test]
    fn pipeline_build_errors() {
        use crate::support::net::testing::build_error;
        let base = "[hekad]\n[LogOutput]\nmessage_matcher = 'TRUE'\nencoder = 'RstEncoder'\n";
        let e = build_error(&format!(
            "{base}[a]\ntype = 'MultiDecoder'\nsubs = ['b']\n\
             [b]\ntype = 'MultiDecoder'\nsubs = ['a']\n"
        ));
        assert!(e.contains("circular dependency detected"), "{e}");
        let e = build_error(&format!(
            "{base}[bad]\ntype = 'PayloadRegexDecoder'\nmatch_regex = 'x'\n\
             [m]\ntype = 'MultiDecoder'\nsubs = ['bad']\n"
        ));
        assert_eq!(e.matches("capture groups").count(), 1, "{e}");
        assert!(e.ends_with("1 errors loading plugins"), "{e}");
        let e = build_error(&format!(
            "{base}[m]\ntype = 'MultiDecoder'\nsubs = ['TcpInput']\n[TcpInput]\naddress = '127.0.0.1:0'\n"
        ));
        assert!(e.contains("Non-existent subdecoder: TcpInput"), "{e}");
        // A sub whose type is not built: that one cause, reported once.
        let e = build_error(&format!(
            "{base}[SnappyDecoder]\n[m]\ntype = 'MultiDecoder'\nsubs = ['SnappyDecoder']\n"
        ));
        assert_eq!(
            e.matches("No registered plugin type: SnappyDecoder")
                .count(),
            1,
            "{e}"
        );
        assert!(!e.contains("Non-existent"), "{e}");
        assert!(e.ends_with("1 errors loading plugins"), "{e}");
        // Subs defined after the MultiDecoder, and the always-present ProtobufDecoder.
        let cfg = heka_pipeline::config::load_str(
            &format!(
                "{base}[m]\ntype = 'MultiDecoder'\nsubs = ['later', 'ProtobufDecoder']\n\
                 [later]\ntype = 'ScribbleDecoder'\n"
            ),
            std::path::Path::new("test.toml"),
        )
        .unwrap();
        let built = heka_pipeline::runner::build::Pipeline::check(&cfg, &crate::builtin());
        assert!(built.is_ok(), "{:?}", built.err().map(|e| e.to_string()));
    }
}
