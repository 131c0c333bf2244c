//! A small command-line flag parser with the rules of Go's `flag` package.
//!
//! Heka's tools (`hekad`, `heka-cat`, `heka-flood`, `heka-inject`, ...) parse their arguments
//! with Go's standard `flag` package, and scripts written against them rely on its syntax. This
//! module reproduces that syntax so the Rust tools accept the same command lines:
//!
//! * a flag is `-name` or `--name` (one or two dashes mean the same);
//! * a flag that takes a value accepts `-name=value` or `-name value` (the next word is taken
//!   whatever it looks like, even when it starts with a dash);
//! * a boolean flag (`takes_value: false`) is `-name` (true) or `-name=<bool>` with a value
//!   accepted by Go's `strconv.ParseBool` (`1 t T TRUE true True 0 f F FALSE false False`); it
//!   never consumes the next word;
//! * `--` ends the flags and is dropped; the first word that is not a flag (including a lone
//!   `-`) ends the flags too, and it and everything after it are positional;
//! * `-h`, `-help` and `--help` ask for the usage text ([`CliError::Help`]) unless the tool
//!   defines a flag with that name;
//! * a flag given twice keeps its last value.
//!
//! The spec is a plain table of [`FlagSpec`] rows, which drives both parsing and [`usage`].
//! Defaults are the caller's business: [`Flags::value`] returns `None` for a flag that was not
//! given, and the help text should mention the default (as Go's usage output does).

use std::str::FromStr;

/// One flag a tool accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagSpec {
    /// Name without dashes, e.g. `config`.
    pub name: &'static str,
    /// Whether the flag takes a value; `false` makes it a boolean flag.
    pub takes_value: bool,
    /// One-line help text shown by [`usage`]; mention the default here.
    pub help: &'static str,
}

/// Errors from [`Flags::parse`] and the typed accessors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// `-h`, `-help` or `--help` was given: print the usage text.
    #[error("flag: help requested")]
    Help,
    /// A flag that is not in the spec.
    #[error("flag provided but not defined: -{0}")]
    UnknownFlag(String),
    /// A value-taking flag was the last argument.
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    /// A boolean flag with a value that is not a Go boolean.
    #[error("invalid boolean value {value:?} for -{name}: parse error")]
    BadBool {
        /// The flag's name.
        name: String,
        /// The rejected value.
        value: String,
    },
    /// A value that does not parse as the type the tool expects.
    #[error("invalid value {value:?} for flag -{name}: {reason}")]
    BadValue {
        /// The flag's name.
        name: String,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An argument such as `---x` or `-=x`.
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
}

impl CliError {
    /// Process exit code for this error.
    ///
    /// Heka compat: Go's `flag.ExitOnError` (Go 1.4/1.5, which built Heka 0.10) exits with
    /// status 2 for every parse failure, including `-h` (src/flag/flag.go).
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// The result of parsing a command line against a spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Flags that were given, in first-seen order, with their last value. Boolean flags hold
    /// `"true"` or `"false"`.
    set: Vec<(&'static str, String)>,
    positional: Vec<String>,
}

impl Flags {
    /// Parses `args` (without the program name) against `spec`.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        spec: &[FlagSpec],
    ) -> Result<Flags, CliError> {
        let mut flags = Flags::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg.len() < 2 || !arg.starts_with('-') {
                // The first non-flag argument ends flag parsing.
                flags.positional.push(arg);
                break;
            }
            if arg == "--" {
                break;
            }
            let body = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-'))
                .unwrap_or(&arg);
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(CliError::BadSyntax(arg.clone()));
            }
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(flag) = spec.iter().find(|f| f.name == name) else {
                if name == "h" || name == "help" {
                    return Err(CliError::Help);
                }
                return Err(CliError::UnknownFlag(name.to_owned()));
            };
            let value = if flag.takes_value {
                match inline {
                    Some(v) => v.to_owned(),
                    None => args
                        .next()
                        .ok_or_else(|| CliError::MissingValue(name.to_owned()))?,
                }
            } else {
                match inline {
                    None => "true".to_owned(),
                    Some(v) => match parse_go_bool(v) {
                        Some(b) => b.to_string(),
                        None => {
                            return Err(CliError::BadBool {
                                name: name.to_owned(),
                                value: v.to_owned(),
                            });
                        }
                    },
                }
            };
            flags.insert(flag.name, value);
        }
        flags.positional.extend(args);
        Ok(flags)
    }

    /// Parses the process arguments; on failure prints the error (unless it is a help request)
    /// and the usage text to stderr and exits with status 2, as Go's `flag.Parse` does.
    pub fn parse_env_or_exit(tool: &str, spec: &[FlagSpec]) -> Flags {
        match Flags::parse(std::env::args().skip(1), spec) {
            Ok(flags) => flags,
            Err(err) => {
                if err != CliError::Help {
                    eprintln!("{err}");
                }
                eprint!("{}", usage(tool, spec));
                std::process::exit(err.exit_code());
            }
        }
    }

    fn insert(&mut self, name: &'static str, value: String) {
        match self.set.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.set.push((name, value)),
        }
    }

    /// The value of a flag that was given (`"true"`/`"false"` for boolean flags).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the flag appeared on the command line.
    pub fn is_set(&self, name: &str) -> bool {
        self.set.iter().any(|(n, _)| *n == name)
    }

    /// The value of a boolean flag; `false` when it was not given.
    pub fn bool(&self, name: &str) -> bool {
        self.value(name) == Some("true")
    }

    /// Parses a flag's value as `T`; `Ok(None)` when the flag was not given.
    pub fn parsed<T>(&self, name: &str) -> Result<Option<T>, CliError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        value
            .parse::<T>()
            .map(Some)
            .map_err(|err| CliError::BadValue {
                name: name.to_owned(),
                value: value.to_owned(),
                reason: err.to_string(),
            })
    }

    /// Number of distinct flags given (Go's `flag.NFlag`).
    pub fn count(&self) -> usize {
        self.set.len()
    }

    /// The arguments after the flags.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }
}

/// The usage text: `Usage of <tool>:` followed by [`defaults`].
pub fn usage(tool: &str, spec: &[FlagSpec]) -> String {
    format!("Usage of {tool}:\n{}", defaults(spec))
}

/// One entry per flag, sorted by name, in the layout of Go's `flag.PrintDefaults` (which
/// Heka's tools print, without a heading, when run with no flag at all).
pub fn defaults(spec: &[FlagSpec]) -> String {
    let mut sorted: Vec<&FlagSpec> = spec.iter().collect();
    sorted.sort_by_key(|f| f.name);
    let mut out = String::new();
    for flag in sorted {
        out.push_str("  -");
        out.push_str(flag.name);
        if flag.takes_value {
            out.push_str(" value");
        }
        // Go puts the help of a one-letter boolean flag on the same line.
        if flag.name.len() == 1 && !flag.takes_value {
            out.push('\t');
        } else {
            out.push_str("\n    \t");
        }
        out.push_str(&flag.help.replace('\n', "\n    \t"));
        out.push('\n');
    }
    out
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[FlagSpec] = &[
        FlagSpec {
            name: "config",
            takes_value: true,
            help: "config file (default \"flood.toml\")",
        },
        FlagSpec {
            name: "tail",
            takes_value: false,
            help: "keep reading",
        },
        FlagSpec {
            name: "v",
            takes_value: false,
            help: "verbose",
        },
        FlagSpec {
            name: "offset",
            takes_value: true,
            help: "start offset",
        },
    ];

    fn parse(args: &[&str]) -> Result<Flags, CliError> {
        Flags::parse(args.iter().map(|s| s.to_string()), SPEC)
    }

    #[test]
    fn value_forms() {
        for args in [
            &["-config=a.toml"][..],
            &["-config", "a.toml"],
            &["--config", "a.toml"],
            &["--config=a.toml"],
        ] {
            let flags = parse(args).unwrap();
            assert_eq!(flags.value("config"), Some("a.toml"), "{args:?}");
            assert!(flags.is_set("config"));
            assert!(!flags.is_set("tail"));
            assert_eq!(flags.count(), 1);
            assert!(flags.positional().is_empty());
        }
    }

    #[test]
    fn value_may_start_with_dash_or_contain_equals() {
        let flags = parse(&["-offset", "-5", "-config=a=b"]).unwrap();
        assert_eq!(flags.value("offset"), Some("-5"));
        assert_eq!(flags.value("config"), Some("a=b"));
        let flags = parse(&["-config="]).unwrap();
        assert_eq!(flags.value("config"), Some(""));
    }

    #[test]
    fn booleans() {
        let flags = parse(&["-tail"]).unwrap();
        assert!(flags.bool("tail"));
        assert_eq!(flags.value("tail"), Some("true"));
        for (v, want) in [
            ("true", true),
            ("1", true),
            ("t", true),
            ("T", true),
            ("TRUE", true),
            ("True", true),
            ("false", false),
            ("0", false),
            ("f", false),
            ("F", false),
            ("FALSE", false),
            ("False", false),
        ] {
            let flags = parse(&[&format!("--tail={v}")]).unwrap();
            assert_eq!(flags.bool("tail"), want, "{v}");
            assert!(flags.is_set("tail"));
        }
        assert_eq!(
            parse(&["-tail=yes"]),
            Err(CliError::BadBool {
                name: "tail".into(),
                value: "yes".into()
            })
        );
        assert!(!parse(&[]).unwrap().bool("tail"));
    }

    #[test]
    fn boolean_does_not_take_next_word() {
        let flags = parse(&["-tail", "false", "-v"]).unwrap();
        assert!(flags.bool("tail"));
        assert!(!flags.is_set("v"));
        assert_eq!(flags.positional(), &["false".to_string(), "-v".to_string()]);
    }

    #[test]
    fn first_non_flag_ends_flags() {
        let flags = parse(&["-v", "file.log", "-tail"]).unwrap();
        assert!(flags.bool("v"));
        assert!(!flags.is_set("tail"));
        assert_eq!(
            flags.positional(),
            &["file.log".to_string(), "-tail".to_string()]
        );
        let flags = parse(&["-", "x"]).unwrap();
        assert_eq!(flags.positional(), &["-".to_string(), "x".to_string()]);
    }

    #[test]
    fn double_dash_ends_flags_and_is_dropped() {
        let flags = parse(&["-v", "--", "-tail", "x"]).unwrap();
        assert!(flags.bool("v"));
        assert!(!flags.is_set("tail"));
        assert_eq!(flags.positional(), &["-tail".to_string(), "x".to_string()]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["-nope"]), Err(CliError::UnknownFlag("nope".into())));
        assert_eq!(
            parse(&["-config"]),
            Err(CliError::MissingValue("config".into()))
        );
        assert_eq!(parse(&["---x"]), Err(CliError::BadSyntax("---x".into())));
        assert_eq!(parse(&["-=x"]), Err(CliError::BadSyntax("-=x".into())));
        for help in ["-h", "-help", "--help", "--h", "-help=1"] {
            assert_eq!(parse(&[help]), Err(CliError::Help), "{help}");
        }
        assert_eq!(CliError::Help.exit_code(), 2);
        assert_eq!(
            CliError::UnknownFlag("nope".into()).to_string(),
            "flag provided but not defined: -nope"
        );
        assert_eq!(
            CliError::MissingValue("config".into()).to_string(),
            "flag needs an argument: -config"
        );
    }

    #[test]
    fn help_can_be_a_defined_flag() {
        let spec = [FlagSpec {
            name: "h",
            takes_value: false,
            help: "host mode",
        }];
        let flags = Flags::parse(["-h".to_string()], &spec).unwrap();
        assert!(flags.bool("h"));
    }

    #[test]
    fn last_value_wins() {
        let flags = parse(&["-config", "a", "-config=b"]).unwrap();
        assert_eq!(flags.value("config"), Some("b"));
        assert_eq!(flags.count(), 1);
    }

    #[test]
    fn typed_values() {
        let flags = parse(&["-offset", "42"]).unwrap();
        assert_eq!(flags.parsed::<u64>("offset"), Ok(Some(42)));
        assert_eq!(flags.parsed::<u64>("config"), Ok(None));
        let flags = parse(&["-offset", "x"]).unwrap();
        let err = flags.parsed::<u64>("offset").unwrap_err();
        assert!(matches!(err, CliError::BadValue { ref name, .. } if name == "offset"));
        assert!(
            err.to_string()
                .starts_with("invalid value \"x\" for flag -offset: ")
        );
    }

    #[test]
    fn usage_layout() {
        let text = usage("heka-flood", SPEC);
        assert_eq!(
            text,
            "Usage of heka-flood:\n\
             \x20 -config value\n    \tconfig file (default \"flood.toml\")\n\
             \x20 -offset value\n    \tstart offset\n\
             \x20 -tail\n    \tkeep reading\n\
             \x20 -v\tverbose\n"
        );
        assert_eq!(defaults(SPEC), text.split_once('\n').unwrap().1);
    }
}
