//! Heka 0.8/0.9 options that Heka 0.10 moved elsewhere, translated where the 0.10 form is
//! unambiguous (each with a warning naming it), refused with a hint where it is not.
//!
//! Before 0.10, inputs split their stream themselves: `parser_type` (`token`, `regexp` or
//! `message.proto`), `delimiter`, `delimiter_location` (`start`/`end`, regexp only) and, for
//! `message.proto`, the accepted signers as `[input.signer.<name>_<version>]`. 0.10 moved all
//! of that into splitter plugins (TokenSplitter, RegexSplitter, HekaFramingSplitter). An input
//! section that still carries these options gets a splitter section made from them, named
//! `<input>-splitter`, unless it names a splitter of its own (then the old options are an
//! error: the two would disagree).

use std::path::PathBuf;

use super::{ConfigError, ErrorKind, PluginOptions, Section, load_str};

/// Options that older Heka versions had and 0.10 dropped or moved, by plugin type (`hekad` for
/// the globals): (type, option, what to write instead). From Heka's CHANGES.txt and docs.
const REMOVED_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "hekad",
        "decoder_poolsize",
        "removed in Heka 0.6 (decoders have no pools any more): remove it",
    ),
    (
        "MultiDecoder",
        "order",
        "Heka 0.6 replaced `order` and the nested decoder tables with `subs`, a list of the \
         names of top-level decoder sections",
    ),
    (
        "LogstreamerInput",
        "keep_truncated_messages",
        "Heka 0.10 moved it to the splitter: `keep_truncated = true` on the splitter's section",
    ),
    (
        "LogOutput",
        "payload_only",
        "Heka 0.6 replaced it with encoders: encoder = \"PayloadEncoder\"",
    ),
];

/// Plugin types older Heka versions had and 0.10 removed: (type, what to use instead).
const REMOVED_TYPES: &[(&str, &str)] = &[
    (
        "LogfileInput",
        "removed in Heka 0.6: use LogstreamerInput (log_directory + file_match)",
    ),
    (
        "LogfileDirectoryManagerInput",
        "removed in Heka 0.6: use LogstreamerInput (log_directory + file_match)",
    ),
    (
        "PayloadJsonDecoder",
        "removed in Heka 0.6: use JsonDecoder, or a SandboxDecoder running json.lua",
    ),
];

/// What replaced option `key` of plugin type `type_name` (`hekad` for the globals), when an
/// older Heka version had it.
pub fn removed_option_hint(type_name: &str, key: &str) -> Option<&'static str> {
    REMOVED_OPTIONS
        .iter()
        .find(|(t, k, _)| *t == type_name && *k == key)
        .map(|(_, _, h)| *h)
}

/// Adds what to write instead to `err` when it is an unknown option or plugin type that an
/// older Heka version had; `type_name` is the plugin type of the section (`hekad` for the
/// globals).
pub fn with_removed_hint(err: ConfigError, type_name: &str) -> ConfigError {
    if err.hint().is_some() {
        return err;
    }
    let hint = match err.kind() {
        ErrorKind::UnknownSetting { key, .. } => removed_option_hint(type_name, key),
        ErrorKind::UnknownType(t) => REMOVED_TYPES
            .iter()
            .find(|(name, _)| name == t)
            .map(|(_, h)| *h),
        _ => None,
    };
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The pre-0.10 stream options of an input.
pub const INPUT_PARSER_KEYS: &[&str] =
    &["parser_type", "delimiter", "delimiter_location", "signer"];

/// A splitter section made from an input's pre-0.10 options.
#[derive(Debug)]
pub struct LegacySplitter {
    /// The splitter section (named `<input>-splitter`), as the user would write it in 0.10.
    pub section: Section,
    /// That section as TOML, for the warnings.
    pub toml: String,
    /// One warning per translated option.
    pub warnings: Vec<String>,
    /// The input's own options without the translated ones.
    pub options: PluginOptions,
    /// Whether the input's default decoder stays off: Heka 0.9 decoded only `message.proto`
    /// streams by default; a `token` or `regexp` stream without a `decoder` became payloads.
    pub no_default_decoder: bool,
}

/// The splitter an input names, for [`input_splitter`].
#[derive(Debug, Clone, Copy)]
pub struct NamedSplitter<'a> {
    /// The name the input gives (`splitter = "…"`).
    pub name: &'a str,
    /// Its section: the config's, or the one made for a registered type named directly.
    pub section: Option<&'a Section>,
}

/// Translates the pre-0.10 stream options of input section `input` (own options `options`).
/// `named` is the splitter the input names, if it names one; `default_splitter` is the type
/// of the input's 0.10 default splitter, which stands for Heka 0.9's default `parser_type` of
/// that input. `None` when the section has none of the old options.
pub fn input_splitter(
    input: &Section,
    options: &PluginOptions,
    named: Option<NamedSplitter<'_>>,
    default_splitter: &str,
) -> Result<Option<LegacySplitter>, ConfigError> {
    let present: Vec<&str> = INPUT_PARSER_KEYS
        .iter()
        .copied()
        .filter(|k| options.get(k).is_some())
        .collect();
    let Some(&first) = present.first() else {
        return Ok(None);
    };
    let string = |key: &str| -> Result<Option<String>, ConfigError> {
        match options.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(input.error(
                Some(key),
                format!("invalid type: {}, expected a string", other.type_str()),
            )),
        }
    };
    // The options of the splitter to make, `type` apart.
    let mut body = toml::Table::new();
    let type_name = if let Some(named) = named {
        // Heka 0.10's own docs kept `[UdpInput.signer.*]` beside `splitter =
        // "HekaFramingSplitter"`: the signers belong to that splitter.
        let framing = named
            .section
            .filter(|s| s.type_name == "HekaFramingSplitter");
        match framing {
            Some(section) if present == ["signer"] => {
                body.extend(
                    section
                        .options()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                "HekaFramingSplitter"
            }
            _ => {
                return Err(input.error(
                    Some(first),
                    format!(
                        "'{first}' is Heka 0.9's way to split the stream and this input also \
                         names a splitter ({}): remove {}",
                        named.name,
                        quoted_list(&present)
                    ),
                ));
            }
        }
    } else {
        let parser = match string("parser_type")? {
            Some(p) => p,
            None => match default_splitter {
                "TokenSplitter" => "token".to_string(),
                "HekaFramingSplitter" => "message.proto".to_string(),
                _ => {
                    return Err(input.error(
                        Some(first),
                        format!(
                            "'{first}' is a Heka 0.9 option, and 0.9's parser for this input is \
                             not known here: name a splitter instead (splitter = \"my_splitter\" \
                             and a [my_splitter] section with type = \"TokenSplitter\", \
                             \"RegexSplitter\" or \"HekaFramingSplitter\")"
                        ),
                    ));
                }
            },
        };
        let delimiter = string("delimiter")?;
        let location = string("delimiter_location")?;
        match parser.as_str() {
            "token" => {
                if location.is_some() {
                    return Err(only_with(input, "delimiter_location", "regexp", &parser));
                }
                if let Some(d) = delimiter {
                    body.insert("delimiter".into(), d.into());
                }
                "TokenSplitter"
            }
            "regexp" => {
                let Some(d) = delimiter else {
                    return Err(input.error(
                        Some("parser_type"),
                        "parser_type = \"regexp\" needs a delimiter (a regular expression): in \
                         Heka 0.10 write a RegexSplitter with its delimiter",
                    ));
                };
                body.insert("delimiter".into(), d.into());
                match location.as_deref() {
                    None | Some("end") => {}
                    Some("start") => {
                        body.insert("delimiter_eol".into(), false.into());
                    }
                    Some(other) => {
                        return Err(input.error(
                            Some("delimiter_location"),
                            format!(
                                "delimiter_location must be \"start\" or \"end\", not \"{other}\""
                            ),
                        ));
                    }
                }
                "RegexSplitter"
            }
            "message.proto" => {
                for key in ["delimiter", "delimiter_location"] {
                    if options.get(key).is_some() {
                        return Err(only_with(input, key, "token or regexp", &parser));
                    }
                }
                "HekaFramingSplitter"
            }
            other => {
                return Err(input.error(
                    Some("parser_type"),
                    format!(
                        "unknown parser_type \"{other}\" (Heka 0.9 knew \"token\", \"regexp\" \
                         and \"message.proto\"; Heka 0.10 replaced it with splitters)"
                    ),
                ));
            }
        }
    };
    if let Some(signer) = options.get("signer") {
        if type_name != "HekaFramingSplitter" {
            let parser = string("parser_type")?.unwrap_or_default();
            return Err(only_with(input, "signer", "message.proto", &parser));
        }
        let mut all = match body.remove("signer") {
            Some(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        if let toml::Value::Table(t) = signer {
            all.extend(t.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        body.insert("signer".into(), toml::Value::Table(all));
    }
    let name = format!("{}-splitter", input.name);
    let text = render(&name, type_name, &body);
    let origin = PathBuf::from(format!(
        "{} ([{}] as Heka 0.10 writes it)",
        input.file().display(),
        input.name
    ));
    let config = load_str(&text, &origin)?;
    let Some(section) = config.sections.into_iter().next() else {
        return Err(input.error(None, "translating Heka 0.9 options failed"));
    };
    let warnings = present
        .iter()
        .map(|key| {
            input
                .error(
                    Some(key),
                    format!(
                        "'{key}' is a Heka 0.9 option: read as a {type_name}; in Heka 0.10 write \
                         splitter = \"{name}\" on [{}] and this section:\n{}",
                        input.name,
                        text.trim_end()
                    ),
                )
                .to_string()
        })
        .collect();
    Ok(Some(LegacySplitter {
        section,
        toml: text,
        warnings,
        options: options.without(INPUT_PARSER_KEYS),
        no_default_decoder: type_name != "HekaFramingSplitter",
    }))
}

/// A splitter section as TOML, written by hand rather than by toml's writer to keep `type`
/// first and the signers as `[<name>.signer.<id>]` tables, as Heka's docs write them.
fn render(name: &str, type_name: &str, body: &toml::Table) -> String {
    let mut text = format!("[{name}]\ntype = \"{type_name}\"\n");
    let mut tables = Vec::new();
    for (k, v) in body {
        match v {
            toml::Value::Table(t) => tables.push((k, t)),
            v => text.push_str(&format!("{k} = {v}\n")),
        }
    }
    for (k, t) in tables {
        for (id, inner) in t {
            text.push_str(&format!("[{name}.{k}.{id}]\n"));
            if let toml::Value::Table(options) = inner {
                for (o, v) in options {
                    text.push_str(&format!("{o} = {v}\n"));
                }
            }
        }
    }
    text
}

fn only_with(input: &Section, key: &str, parsers: &str, parser: &str) -> ConfigError {
    input.error(
        Some(key),
        format!(
            "'{key}' goes with parser_type = {parsers} in Heka 0.9, not \"{parser}\": remove it \
             (Heka 0.10 replaced parser_type with splitters)"
        ),
    )
}

fn quoted_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn removed_options_and_types_say_what_replaced_them() {
        let unknown = |section: &str, key: &str| {
            ConfigError::new(ErrorKind::UnknownSetting {
                section: section.into(),
                key: key.into(),
            })
        };
        let e = with_removed_hint(unknown("hekad", "decoder_poolsize"), "hekad");
        assert_eq!(
            e.hint(),
            Some("removed in Heka 0.6 (decoders have no pools any more): remove it")
        );
        let e = with_removed_hint(unknown("m", "order"), "MultiDecoder");
        assert!(e.hint().unwrap_or_default().contains("`subs`"), "{e}");
        // Only for the type that had it.
        assert_eq!(
            with_removed_hint(unknown("x", "order"), "TcpInput").hint(),
            None
        );
        let e = with_removed_hint(
            ConfigError::new(ErrorKind::UnknownType("LogfileInput".into())),
            "LogfileInput",
        );
        assert!(
            e.hint().unwrap_or_default().contains("LogstreamerInput"),
            "{e}"
        );
        assert_eq!(
            with_removed_hint(ConfigError::new(ErrorKind::UnknownType("X".into())), "X").hint(),
            None
        );
    }

    /// Translates the first section of `text` with `default` as its default splitter.
    fn translate(text: &str, default: &str) -> Result<Option<LegacySplitter>, String> {
        let c = load_str(text, Path::new("old.toml")).map_err(|e| e.to_string())?;
        let s = &c.sections[0];
        let (common, own) = s.common_input().map_err(|e| e.to_string())?;
        let named = common.splitter.as_deref().map(|name| NamedSplitter {
            name,
            section: c.sections.iter().find(|x| x.name == name),
        });
        input_splitter(s, &own, named, default).map_err(|e| e.to_string())
    }

    fn splitter(text: &str, default: &str) -> (String, toml::Table, Vec<String>) {
        let l = translate(text, default).unwrap().unwrap();
        let (_, own) = l.section.common_splitter().unwrap();
        (
            l.section.type_name.clone(),
            own.values().clone(),
            l.warnings,
        )
    }

    #[test]
    fn token_regexp_and_message_proto_become_splitters() {
        let (ty, opts, warnings) = splitter(
            "[in]\ntype = 'LogstreamerInput'\nparser_type = 'token'\ndelimiter = '|'\n",
            "TokenSplitter",
        );
        assert_eq!(ty, "TokenSplitter");
        assert_eq!(opts.get("delimiter").and_then(|v| v.as_str()), Some("|"));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let l = translate(
            "[in]\ntype = 'TcpInput'\nparser_type = 'token'\n",
            "HekaFramingSplitter",
        )
        .unwrap()
        .unwrap();
        assert!(l.no_default_decoder);
        assert!(
            warnings[0].starts_with(
                "old.toml: [in] parser_type: 'parser_type' is a Heka 0.9 option: read as a \
                 TokenSplitter; in Heka 0.10 write splitter = \"in-splitter\" on [in] and this \
                 section:\n[in-splitter]\ntype = \"TokenSplitter\"\ndelimiter = \"|\""
            ),
            "{}",
            warnings[0]
        );
        assert!(warnings[1].contains("[in] delimiter: 'delimiter' is a Heka 0.9 option"));

        let (ty, opts, _) = splitter(
            "[in]\ntype = 'TcpInput'\nparser_type = 'regexp'\ndelimiter = '\\n(\\d+)'\n\
             delimiter_location = 'start'\n",
            "HekaFramingSplitter",
        );
        assert_eq!(ty, "RegexSplitter");
        assert_eq!(
            opts.get("delimiter").and_then(|v| v.as_str()),
            Some("\\n(\\d+)")
        );
        assert_eq!(
            opts.get("delimiter_eol").and_then(|v| v.as_bool()),
            Some(false)
        );
        let (_, opts, _) = splitter(
            "[in]\ntype = 'TcpInput'\nparser_type = 'regexp'\ndelimiter = 'x'\n\
             delimiter_location = 'end'\n",
            "HekaFramingSplitter",
        );
        assert_eq!(opts.get("delimiter_eol"), None);

        // Signers move to the framing splitter, explicitly or by the input's default parser.
        for parser in ["parser_type = 'message.proto'\n", ""] {
            let (ty, opts, warnings) = splitter(
                &format!(
                    "[TCP:5565]\ntype = 'TcpInput'\n{parser}\
                     [TCP:5565.signer.telemetry_0]\nhmac_key = 'k'\n"
                ),
                "HekaFramingSplitter",
            );
            assert_eq!(ty, "HekaFramingSplitter");
            assert!(
                !translate(
                    &format!("[t]\ntype = 'TcpInput'\n{parser}[t.signer.a_0]\nhmac_key = 'k'\n"),
                    "HekaFramingSplitter"
                )
                .unwrap()
                .unwrap()
                .no_default_decoder
            );
            let key = opts
                .get("signer")
                .and_then(|s| s.get("telemetry_0"))
                .and_then(|s| s.get("hmac_key"))
                .and_then(|v| v.as_str());
            assert_eq!(key, Some("k"), "{opts:?}");
            assert!(warnings.iter().any(|w| w.contains("[TCP:5565] signer:")));
        }
    }

    #[test]
    fn signers_beside_a_named_framing_splitter_join_a_copy_of_it() {
        // Heka 0.10's UdpInput docs: `splitter = "HekaFramingSplitter"` and signers on the input.
        let (ty, opts, warnings) = splitter(
            "[UdpInput]\naddress = ':1'\nsplitter = 'framing'\n\
             [UdpInput.signer.ops_0]\nhmac_key = 'a'\n\
             [framing]\ntype = 'HekaFramingSplitter'\nskip_authentication = false\n\
             [framing.signer.dev_1]\nhmac_key = 'b'\n",
            "NullSplitter",
        );
        assert_eq!(ty, "HekaFramingSplitter");
        assert_eq!(
            opts.get("skip_authentication").and_then(|v| v.as_bool()),
            Some(false)
        );
        let signers: Vec<&String> = opts
            .get("signer")
            .and_then(|s| s.as_table())
            .map(|t| t.keys().collect())
            .unwrap_or_default();
        assert_eq!(signers, ["dev_1", "ops_0"]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("[UdpInput-splitter.signer.ops_0]\nhmac_key = \"a\""),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn the_input_keeps_its_other_options() {
        let l = translate(
            "[in]\ntype = 'UdpInput'\naddress = ':1'\nparser_type = 'token'\n",
            "NullSplitter",
        )
        .unwrap()
        .unwrap();
        let keys: Vec<&String> = l.options.values().keys().collect();
        assert_eq!(keys, ["address"]);
        assert!(l.toml.contains("[in-splitter]"), "{}", l.toml);
        assert!(
            translate("[in]\ntype = 'UdpInput'\naddress = ':1'\n", "NullSplitter")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn what_cannot_be_translated_says_what_to_write() {
        let err = |text: &str, default: &str| translate(text, default).unwrap_err();
        let e = err("[in]\ntype = 'UdpInput'\ndelimiter = '|'\n", "NullSplitter");
        assert!(
            e.contains("[in] delimiter:") && e.contains("name a splitter instead"),
            "{e}"
        );
        let e = err(
            "[in]\ntype = 'TcpInput'\nsplitter = 'x'\nparser_type = 'token'\n",
            "HekaFramingSplitter",
        );
        assert!(
            e.contains("also names a splitter (x): remove 'parser_type'"),
            "{e}"
        );
        // Signers beside a named splitter that is not a framing splitter.
        let e = err(
            "[in]\ntype = 'UdpInput'\nsplitter = 't'\n[in.signer.a_1]\nhmac_key = 'k'\n\
             [t]\ntype = 'TokenSplitter'\n",
            "NullSplitter",
        );
        assert!(
            e.contains("also names a splitter (t): remove 'signer'"),
            "{e}"
        );
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 'json'\n",
            "HekaFramingSplitter",
        );
        assert!(e.contains("unknown parser_type \"json\""), "{e}");
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 'regexp'\n",
            "HekaFramingSplitter",
        );
        assert!(e.contains("needs a delimiter"), "{e}");
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 'token'\ndelimiter_location = 'end'\n",
            "HekaFramingSplitter",
        );
        assert!(
            e.contains("'delimiter_location' goes with parser_type = regexp"),
            "{e}"
        );
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 'token'\n[in.signer.a_1]\nhmac_key = 'k'\n",
            "HekaFramingSplitter",
        );
        assert!(
            e.contains("'signer' goes with parser_type = message.proto"),
            "{e}"
        );
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 'regexp'\ndelimiter = 'x'\n\
             delimiter_location = 'middle'\n",
            "HekaFramingSplitter",
        );
        assert!(e.contains("\"start\" or \"end\""), "{e}");
        let e = err(
            "[in]\ntype = 'TcpInput'\nparser_type = 1\n",
            "HekaFramingSplitter",
        );
        assert!(e.contains("[in] parser_type: invalid type: integer"), "{e}");
    }
}
