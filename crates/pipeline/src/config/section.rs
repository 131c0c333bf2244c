//! One plugin section (`[name]` table) and the split of its options into
//! Heka's common options and the plugin's own.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::common::{
    CommonFilterOutput, CommonInput, CommonSplitter, FILTER_OUTPUT_KEYS, INPUT_KEYS, SPLITTER_KEYS,
};
use super::error::{ConfigError, ErrorKind, Position};
use super::table::TableRef;

/// The six plugin categories. A plugin type's category is given by the suffix
/// of its type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    /// Reads data from outside and produces packs.
    Input,
    /// Cuts an input's byte stream into records.
    Splitter,
    /// Turns a record into a message.
    Decoder,
    /// Processes routed messages and may inject new ones.
    Filter,
    /// Serializes a message for an output.
    Encoder,
    /// Sends routed messages out of Heka.
    Output,
}

impl PluginKind {
    /// All kinds, in Heka's load order: Decoder, Encoder, Splitter, Input,
    /// Filter, Output.
    pub const LOAD_ORDER: [PluginKind; 6] = [
        PluginKind::Decoder,
        PluginKind::Encoder,
        PluginKind::Splitter,
        PluginKind::Input,
        PluginKind::Filter,
        PluginKind::Output,
    ];

    /// The kind named by `type_name`'s suffix (`TcpInput` → `Input`), or
    /// `None` if it ends in none of the six category names.
    pub fn from_type_name(type_name: &str) -> Option<PluginKind> {
        // Heka compat (pipeline/config.go `getPluginCategory`): the regex
        // `(Decoder|Encoder|Filter|Input|Output|Splitter)$`, case-sensitive.
        Self::LOAD_ORDER
            .into_iter()
            .find(|kind| type_name.ends_with(kind.as_str()))
    }

    /// The category name, as in type-name suffixes: `"Input"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Input => "Input",
            PluginKind::Splitter => "Splitter",
            PluginKind::Decoder => "Decoder",
            PluginKind::Filter => "Filter",
            PluginKind::Encoder => "Encoder",
            PluginKind::Output => "Output",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One plugin instance of the configuration: a top-level table other than
/// `[hekad]`.
#[derive(Debug, Clone)]
pub struct Section {
    /// The instance name: the table's name.
    pub name: String,
    /// The registered plugin type: the `type` option, or the instance name
    /// when `type` is absent or empty.
    pub type_name: String,
    /// The category, from the type name's suffix.
    pub kind: PluginKind,
    /// All options except `type`, with lower-cased top-level keys.
    options: toml::Table,
    table: TableRef,
}

impl Section {
    /// Builds a section from an indexed table: resolves `type` and the kind.
    pub(crate) fn from_table(table: TableRef) -> Result<Section, ConfigError> {
        let mut options = table.to_toml_table()?;
        let type_name = match options.remove("type") {
            None => None,
            Some(toml::Value::String(t)) if t.is_empty() => None,
            Some(toml::Value::String(t)) => Some(t),
            Some(other) => {
                return Err(table.error(
                    Some("type"),
                    ErrorKind::Invalid(format!(
                        "invalid type: {}, expected a string",
                        other.type_str()
                    )),
                ));
            }
        };
        // Heka compat (pipeline/plugin_maker.go): the type defaults to the
        // section name.
        let type_name = type_name.unwrap_or_else(|| table.name().to_owned());
        let type_option = options_has_type(&table);
        let Some(kind) = PluginKind::from_type_name(&type_name) else {
            return Err(table.error(type_option, ErrorKind::UnrecognizedCategory(type_name)));
        };
        Ok(Section {
            name: table.name().to_owned(),
            type_name,
            kind,
            options,
            table,
        })
    }

    /// The file the section was read from.
    pub fn file(&self) -> &Path {
        self.table.file()
    }

    /// Position of the section's header in its file.
    pub fn position(&self) -> Position {
        self.table.position()
    }

    /// All options except `type`, keyed by lower-cased name.
    pub fn options(&self) -> &toml::Table {
        &self.options
    }

    /// The value of option `key` (matched case-insensitively).
    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.options.get(&key.to_lowercase())
    }

    /// A [`ConfigError`] about this section, or about its `option` when
    /// given: names the file, the section and the option, and points at the
    /// option's value (or at the section header when the option is absent).
    pub fn error(&self, option: Option<&str>, message: impl fmt::Display) -> ConfigError {
        self.error_kind(option, ErrorKind::Invalid(message.to_string()))
    }

    /// [`Section::error`] with a specific [`ErrorKind`].
    pub fn error_kind(&self, option: Option<&str>, kind: ErrorKind) -> ConfigError {
        // `type` is the one option not kept in `options`; only name it when
        // the section spells it out.
        let option = option
            .filter(|o| !o.eq_ignore_ascii_case("type") || options_has_type(&self.table).is_some());
        self.table.error(option, kind)
    }

    /// Deserializes the common-option struct `T` from the options named in
    /// `keys` (lower-case) and returns it with the remaining options.
    pub fn split_common<T: DeserializeOwned>(
        &self,
        keys: &[&str],
    ) -> Result<(T, PluginOptions), ConfigError> {
        let common = self.table.deserialize(|k| keys.contains(&k))?;
        let rest = self
            .options
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok((common, self.plugin_options_from(rest)))
    }

    /// Splits an input's options into [`CommonInput`] and the rest.
    pub fn common_input(&self) -> Result<(CommonInput, PluginOptions), ConfigError> {
        self.split_common(INPUT_KEYS)
    }

    /// Splits a splitter's options into [`CommonSplitter`] and the rest.
    pub fn common_splitter(&self) -> Result<(CommonSplitter, PluginOptions), ConfigError> {
        self.split_common(SPLITTER_KEYS)
    }

    /// Splits a filter's (`is_output == false`) or an output's options into
    /// [`CommonFilterOutput`] and the rest.
    ///
    /// For a filter, `encoder` and `use_framing` are still accepted (Heka
    /// decodes the same common struct for both kinds, so its strict check
    /// lets them through) but ignored: both fields are `None`.
    pub fn common_filter_output(
        &self,
        is_output: bool,
    ) -> Result<(CommonFilterOutput, PluginOptions), ConfigError> {
        let (mut common, rest): (CommonFilterOutput, _) = self.split_common(FILTER_OUTPUT_KEYS)?;
        if !is_output {
            // Heka compat (pipeline/plugin_maker.go `OrigPrepConfig`): every
            // `CommonFOConfig` field is exempt from the strict check, so a
            // filter with `encoder` loads; the setting has no effect.
            common.encoder = None;
            common.use_framing = None;
        }
        Ok((common, rest))
    }

    /// All options except `type`, for kinds without common options
    /// (decoders and encoders). Never fails; it returns a `Result` like the
    /// other split methods so that callers can treat all kinds alike.
    pub fn no_common(&self) -> Result<PluginOptions, ConfigError> {
        Ok(self.plugin_options_from(self.options.clone()))
    }

    fn plugin_options_from(&self, values: toml::Table) -> PluginOptions {
        PluginOptions {
            table: self.table.clone(),
            values,
        }
    }
}

/// `Some("type")` when the section's table has a `type` key.
fn options_has_type(table: &TableRef) -> Option<&'static str> {
    table.keys().any(|k| k == "type").then_some("type")
}

/// A plugin's own options: a section's options minus `type` and the common
/// options of its kind.
#[derive(Debug, Clone)]
pub struct PluginOptions {
    table: TableRef,
    values: toml::Table,
}

impl PluginOptions {
    /// Deserializes the plugin's config struct. Use
    /// `#[serde(deny_unknown_fields, default)]` on it: an option it doesn't
    /// know is then reported as `unknown config setting for '<section>':
    /// <key>` with its position, and a value of the wrong type names the
    /// option, what was expected, and the position.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.table.deserialize(|k| self.values.contains_key(k))
    }

    /// Whether there are no plugin options at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of option `key` (matched case-insensitively), for plugins
    /// that don't declare a config struct.
    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.values.get(&key.to_lowercase())
    }

    /// All plugin options, keyed by lower-cased name.
    pub fn values(&self) -> &toml::Table {
        &self.values
    }

    /// These options without the ones named in `keys` (lower-case).
    pub fn without(&self, keys: &[&str]) -> PluginOptions {
        PluginOptions {
            table: self.table.clone(),
            values: self
                .values
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The section (instance) name.
    pub fn section_name(&self) -> &str {
        self.table.name()
    }

    /// A [`ConfigError`] about one of these options (see [`Section::error`]).
    pub fn error(&self, option: Option<&str>, message: impl fmt::Display) -> ConfigError {
        self.table
            .error(option, ErrorKind::Invalid(message.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::Duration;

    use serde::Deserialize;

    use super::super::{BufferingConfig, Config, FullAction, RetryOptions, load_str};
    use super::*;

    fn config(text: &str) -> Config {
        load_str(text, Path::new("test.toml")).unwrap()
    }

    fn config_err(text: &str) -> ConfigError {
        load_str(text, Path::new("test.toml")).unwrap_err()
    }

    fn only(text: &str) -> Section {
        let mut c = config(text);
        assert_eq!(c.sections.len(), 1);
        c.sections.remove(0)
    }

    fn pos(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn kind_from_suffix() {
        use PluginKind::*;
        let cases = [
            ("TcpInput", Some(Input)),
            ("HekaFramingSplitter", Some(Splitter)),
            ("ProtobufDecoder", Some(Decoder)),
            ("CounterFilter", Some(Filter)),
            ("PayloadEncoder", Some(Encoder)),
            ("LogOutput", Some(Output)),
            ("Input", Some(Input)),
            ("InputFoo", None),
            ("tcpinput", None),
            ("", None),
        ];
        for (name, kind) in cases {
            assert_eq!(PluginKind::from_type_name(name), kind, "{name}");
        }
        for kind in PluginKind::LOAD_ORDER {
            assert_eq!(PluginKind::from_type_name(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
    }

    #[test]
    fn type_defaults_to_section_name() {
        let s = only("[LogOutput]\nmessage_matcher = 'TRUE'\n");
        assert_eq!(s.name, "LogOutput");
        assert_eq!(s.type_name, "LogOutput");
        assert_eq!(s.kind, PluginKind::Output);
        assert_eq!(s.file(), Path::new("test.toml"));
        assert_eq!(s.position(), Position { line: 1, column: 2 });

        let s = only("[ProtobufDecoder]\ntype = ''\n");
        assert_eq!(s.type_name, "ProtobufDecoder");

        let s = only("[counter]\nType = 'CounterFilter'\n");
        assert_eq!(
            (s.type_name.as_str(), s.kind),
            ("CounterFilter", PluginKind::Filter)
        );
        // `type` is not an option of the plugin.
        assert!(s.get("type").is_none());
        assert!(s.no_common().unwrap().is_empty());
    }

    #[test]
    fn unrecognized_category() {
        let err = config_err("[hekad]\n\n[my_plugin]\nfoo = 1\n");
        assert!(matches!(err.kind(), ErrorKind::UnrecognizedCategory(t) if t == "my_plugin"));
        assert_eq!(err.section(), Some("my_plugin"));
        assert_eq!(err.option(), None);
        assert_eq!(
            err.to_string(),
            "test.toml: [my_plugin] unrecognized plugin category for type 'my_plugin' (line 3, column 2)"
        );

        let err = config_err("[x]\ntype = \"Tcpinput\"\n");
        assert_eq!(err.option(), Some("type"));
        assert_eq!(err.position(), pos(2, 8));

        let err = config_err("[x]\ntype = 5\n");
        assert_eq!(err.option(), Some("type"));
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn unknown_type_error_points_at_type() {
        let c = config("[a]\ntype = 'NopeInput'\n[NopeOutput]\n");
        let err = ConfigError::unknown_type(&c.sections[0]);
        assert_eq!(
            err.to_string(),
            "test.toml: [a] type: No registered plugin type: NopeInput (line 2, column 8)"
        );
        let err = ConfigError::unknown_type(&c.sections[1]);
        assert_eq!(
            err.to_string(),
            "test.toml: [NopeOutput] No registered plugin type: NopeOutput (line 3, column 2)"
        );
    }

    #[test]
    fn section_errors_point_at_option_or_header() {
        let s = only("[in]\ntype = 'UdpInput'\naddress = 'bad'\n");
        let err = s.error(Some("Address"), "can't resolve");
        assert_eq!(
            err.to_string(),
            "test.toml: [in] Address: can't resolve (line 3, column 11)"
        );
        let err = s.error(Some("missing"), "required");
        assert_eq!(err.position(), pos(1, 2));
        let err = s.error(None, "broken");
        assert_eq!(err.to_string(), "test.toml: [in] broken (line 1, column 2)");
        let (_, own) = s.common_input().unwrap();
        assert_eq!(own.error(Some("address"), "x").position(), pos(3, 11));
    }

    #[test]
    fn top_level_value_is_not_a_section() {
        let err = config_err("answer = 42\n");
        assert!(matches!(err.kind(), ErrorKind::NotATable));
        assert_eq!(err.section(), Some("answer"));
        assert_eq!(err.position(), pos(1, 1));
    }

    #[test]
    fn keys_colliding_after_lower_casing() {
        let err = config_err("[LogOutput]\nmessage_matcher = 'TRUE'\nMessage_Matcher = 'FALSE'\n");
        assert!(matches!(err.kind(), ErrorKind::DuplicateKey(..)), "{err}");
        assert_eq!(err.option(), Some("message_matcher"));
        assert_eq!(err.position(), pos(3, 1));
    }

    #[test]
    fn a_table_written_twice_is_named() {
        let err = config_err("[a]\nx = 1\n[AMQPOutput]\n  [AMQPOutput]\nurl = 'u'\n");
        assert_eq!(err.position(), pos(4, 4));
        assert_eq!(
            err.hint(),
            Some(
                "the table [AMQPOutput] is defined twice (Heka refused this too): merge the two into one"
            )
        );
        // A key written twice is not a table.
        let err = config_err("[a]\nx = 1\nx = 2\n");
        assert_eq!(err.hint(), None, "{err}");
    }

    #[test]
    fn heka_readings_of_numbers_escapes_and_dotted_keys() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {
            rate: f64,
            count: u32,
            path: String,
            message_fields: std::collections::BTreeMap<String, String>,
        }
        let s = only(
            "[dec]\ntype = 'ScribbleDecoder'\nrate = 5\ncount = 007\npath = \"\\/var\\/log\"\n\
             [dec.message_fields]\nhttp.status = '200'\n",
        );
        let own: Own = s.no_common().unwrap().parse().unwrap();
        assert_eq!(own.rate, 5.0);
        assert_eq!(own.count, 7);
        assert_eq!(own.path, "/var/log");
        assert_eq!(
            own.message_fields.get("http.status").map(String::as_str),
            Some("200")
        );
    }

    #[test]
    fn case_insensitive_common_and_plugin_keys() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {
            path: String,
        }
        let s = only(
            "[out]\ntype = 'FileOutput'\nMessage_Matcher = \"Type == 'x'\"\nPATH = '/tmp/x'\nEncoder = 'PayloadEncoder'\n",
        );
        let (common, own) = s.common_filter_output(true).unwrap();
        assert_eq!(common.message_matcher.as_deref(), Some("Type == 'x'"));
        assert_eq!(common.encoder.as_deref(), Some("PayloadEncoder"));
        assert_eq!(own.parse::<Own>().unwrap().path, "/tmp/x");
        assert_eq!(
            own.get("Path").and_then(toml::Value::as_str),
            Some("/tmp/x")
        );
        assert!(s.get("MESSAGE_MATCHER").is_some());
    }

    #[test]
    fn sub_table_keys_keep_their_case() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {
            message_fields: BTreeMap<String, String>,
        }
        let s = only("[d]\ntype = 'ScribbleDecoder'\n[d.Message_Fields]\nMyField = 'v'\n");
        let own: Own = s.no_common().unwrap().parse().unwrap();
        assert_eq!(
            own.message_fields.get("MyField").map(String::as_str),
            Some("v")
        );
        assert!(!own.message_fields.contains_key("myfield"));
    }

    #[test]
    fn unknown_plugin_option_names_key_and_position() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {
            address: String,
        }
        let s = only(
            "[tcp]\ntype = 'TcpInput'\naddress = ':5565'\ndecoder = 'ProtobufDecoder'\n  adress = ':1'\n",
        );
        let (common, own) = s.common_input().unwrap();
        assert_eq!(common.decoder.as_deref(), Some("ProtobufDecoder"));
        let err = own.parse::<Own>().unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::UnknownSetting { section, key } if section == "tcp" && key == "adress"
        ));
        assert_eq!(err.option(), Some("adress"));
        assert_eq!(err.position(), pos(5, 3));
        assert_eq!(
            err.to_string(),
            "test.toml: [tcp] adress: unknown config setting for 'tcp': adress (line 5, column 3); did you mean `address`?"
        );
        // Go's field name for an option (Heka's docs had some) and a key close to none.
        let s = only("[tcp]\ntype = 'TcpInput'\nAddreSS_ = ':1'\n");
        let (_, own) = s.common_input().unwrap();
        let err = own.parse::<Own>().unwrap_err();
        assert_eq!(err.hint(), Some("did you mean `address`?"));
        let s = only("[tcp]\ntype = 'TcpInput'\nzzz = ':1'\n");
        let (_, own) = s.common_input().unwrap();
        assert_eq!(own.parse::<Own>().unwrap_err().hint(), None);
    }

    #[test]
    fn option_of_another_kind_is_unknown() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {}
        // `message_matcher` is not an input option.
        let s = only("[tcp]\ntype = 'TcpInput'\nmessage_matcher = 'TRUE'\n");
        let (_, own) = s.common_input().unwrap();
        let err = own.parse::<Own>().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnknownSetting { key, .. } if key == "message_matcher")
        );
        assert_eq!(err.position(), pos(3, 1));
    }

    #[test]
    fn wrong_type_names_option_and_expectation() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Own {
            port: u16,
            hosts: Vec<String>,
        }
        let s = only("[x]\ntype = 'StatsdInput'\nport = 70000\n");
        let err = s.no_common().unwrap().parse::<Own>().unwrap_err();
        assert_eq!(err.option(), Some("port"));
        assert_eq!(err.position(), pos(3, 8));
        assert_eq!(
            err.to_string(),
            "test.toml: [x] port: invalid value: integer `70000`, expected u16 (line 3, column 8)"
        );

        let s = only("[x]\ntype = 'StatsdInput'\nhosts = ['a', 2]\n");
        let err = s.no_common().unwrap().parse::<Own>().unwrap_err();
        assert_eq!(err.option(), Some("hosts"));
        assert_eq!(err.position(), pos(3, 15));
        assert!(err.to_string().contains("expected a string"), "{err}");

        // Common options are type-checked too.
        let s = only("[x]\ntype = 'LogOutput'\ncan_exit = 'yes'\n");
        let err = s.common_filter_output(true).unwrap_err();
        assert_eq!(err.option(), Some("can_exit"));
        assert_eq!(err.position(), pos(3, 12));
        assert!(err.to_string().contains("expected a boolean"), "{err}");

        let s = only("[x]\ntype = 'LogOutput'\nticker_interval = -5\n");
        let err = s.common_filter_output(true).unwrap_err();
        assert_eq!(err.option(), Some("ticker_interval"));
    }

    #[test]
    fn missing_required_field_names_it() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Own {
            path: String,
        }
        let s = only("[x]\ntype = 'FileOutput'\n");
        let err = s.no_common().unwrap().parse::<Own>().unwrap_err();
        assert_eq!(err.option(), Some("path"));
        assert!(err.to_string().contains("missing field `path`"), "{err}");
    }

    #[test]
    fn empty_values_mean_unset() {
        let s = only("[i]\ntype = 'TcpInput'\ndecoder = ''\nsplitter = ''\nticker_interval = 0\n");
        let (c, own) = s.common_input().unwrap();
        assert_eq!(
            (c.decoder, c.splitter, c.ticker_interval),
            (None, None, None)
        );
        assert!(own.is_empty());

        let s = only(
            "[o]\ntype = 'TcpOutput'\nmessage_matcher = ''\nmessage_signer = ''\nencoder = ''\nticker_interval = 0\n",
        );
        let (c, _) = s.common_filter_output(true).unwrap();
        assert_eq!(c.message_matcher, None);
        assert_eq!(c.message_signer, None);
        assert_eq!(c.encoder, None);
        assert_eq!(c.ticker_interval, None);

        let s = only("[s]\ntype = 'TokenSplitter'\nmin_buffer_size = 0\ndelimiter = ';'\n");
        let (c, own) = s.common_splitter().unwrap();
        assert_eq!(c.min_buffer_size, None);
        assert_eq!(
            own.get("delimiter").and_then(toml::Value::as_str),
            Some(";")
        );
    }

    #[test]
    fn common_input_values_and_defaults() {
        let s = only("[i]\ntype = 'UdpInput'\n");
        let (c, _) = s.common_input().unwrap();
        assert_eq!(c, CommonInput::default());
        assert_eq!(c.log_decode_failures, None);
        assert_eq!(c.synchronous_decode, None);
        assert_eq!(c.retries, RetryOptions::default());

        let s = only(
            "[i]\ntype = 'UdpInput'\nsynchronous_decode = true\nsend_decode_failures = false\n\
             log_decode_failures = false\ncan_exit = true\nticker_interval = 5\nsplitter = 'TokenSplitter'\n\
             [i.retries]\nmax_retries = 3\ndelay = '1s'\n",
        );
        let (c, own) = s.common_input().unwrap();
        assert_eq!(c.synchronous_decode, Some(true));
        assert_eq!(c.send_decode_failures, Some(false));
        assert_eq!(c.log_decode_failures, Some(false));
        assert_eq!(c.can_exit, Some(true));
        assert_eq!(c.ticker_interval, Some(5));
        assert_eq!(c.splitter.as_deref(), Some("TokenSplitter"));
        // Specifying the sub-table keeps the defaults of omitted keys.
        assert_eq!(
            c.retries,
            RetryOptions {
                max_retries: 3,
                delay: Duration::from_secs(1),
                ..RetryOptions::default()
            }
        );
        assert!(own.is_empty());
    }

    #[test]
    fn common_splitter_values() {
        let s = only(
            "[s]\ntype = 'HekaFramingSplitter'\nkeep_truncated = true\nuse_message_bytes = false\n\
             min_buffer_size = 4096\ndeliver_incomplete_final = true\n",
        );
        let (c, own) = s.common_splitter().unwrap();
        assert_eq!(
            c,
            CommonSplitter {
                keep_truncated: Some(true),
                use_message_bytes: Some(false),
                min_buffer_size: Some(4096),
                deliver_incomplete_final: Some(true),
            }
        );
        assert!(own.is_empty());
    }

    #[test]
    fn retries_errors_are_positioned() {
        let s = only("[i]\ntype = 'UdpInput'\n[i.retries]\nmax_delay = '30 s'\n");
        let err = s.common_input().unwrap_err();
        assert_eq!(err.option(), Some("retries"));
        assert_eq!(err.position(), pos(4, 13));
        assert!(err.to_string().contains("unknown unit"), "{err}");

        let s = only("[i]\ntype = 'UdpInput'\n[i.retries]\nmax_retry = 3\n");
        let err = s.common_input().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnknownSetting { key, .. } if key == "retries.max_retry"),
            "{err}"
        );
        assert_eq!(err.position(), pos(4, 1));

        // "" means the default, as in Heka.
        let s = only("[i]\ntype = 'UdpInput'\nretries = { delay = '', max_jitter = '0s' }\n");
        let (c, _) = s.common_input().unwrap();
        assert_eq!(c.retries.delay, Duration::from_millis(250));
        assert_eq!(c.retries.max_jitter, Duration::ZERO);
    }

    #[test]
    fn buffering_table() {
        let s = only("[o]\ntype = 'TcpOutput'\nuse_buffering = true\n");
        let (c, _) = s.common_filter_output(true).unwrap();
        assert_eq!(c.use_buffering, Some(true));
        assert_eq!(c.buffering, None);

        let s = only(
            "[o]\ntype = 'TcpOutput'\n[o.buffering]\nmax_file_size = 0\nmax_buffer_size = 0\ncursor_update_count = 0\n",
        );
        let (c, _) = s.common_filter_output(true).unwrap();
        assert_eq!(c.buffering, Some(BufferingConfig::default()));

        let s = only(
            "[o]\ntype = 'TcpOutput'\n[o.buffering]\nmax_file_size = 1048576\nmax_buffer_size = 2097152\n\
             full_action = 'block'\ncursor_update_count = 50\n",
        );
        let (c, _) = s.common_filter_output(true).unwrap();
        assert_eq!(
            c.buffering,
            Some(BufferingConfig {
                max_file_size: 1 << 20,
                max_buffer_size: Some(2 << 20),
                full_action: FullAction::Block,
                cursor_update_count: 50,
            })
        );

        let s = only("[o]\ntype = 'TcpOutput'\n[o.buffering]\nfull_action = 'panic'\n");
        let err = s.common_filter_output(true).unwrap_err();
        assert_eq!(err.option(), Some("buffering"));
        assert_eq!(err.position(), pos(4, 15));
        assert!(
            err.to_string()
                .contains("`full_action` must be 'shutdown', 'drop', or 'block', got panic"),
            "{err}"
        );
    }

    #[test]
    fn encoder_on_a_filter_is_accepted_and_ignored() {
        let text = "[f]\ntype = 'CounterFilter'\nencoder = 'PayloadEncoder'\nuse_framing = true\n";
        let s = only(text);
        let (c, own) = s.common_filter_output(false).unwrap();
        assert_eq!((c.encoder, c.use_framing), (None, None));
        assert!(own.is_empty());
        let (c, _) = s.common_filter_output(true).unwrap();
        assert_eq!(c.encoder.as_deref(), Some("PayloadEncoder"));
        assert_eq!(c.use_framing, Some(true));
    }

    #[test]
    fn split_common_with_own_keys() {
        #[derive(Deserialize, Debug, Default, PartialEq)]
        #[serde(default)]
        struct Mine {
            alpha: i64,
        }
        let s = only("[x]\ntype = 'XFilter'\nAlpha = 2\nbeta = 'b'\n");
        let (mine, rest): (Mine, _) = s.split_common(&["alpha"]).unwrap();
        assert_eq!(mine, Mine { alpha: 2 });
        assert_eq!(rest.values().len(), 1);
        assert_eq!(rest.section_name(), "x");
        assert_eq!(rest.get("BETA").and_then(toml::Value::as_str), Some("b"));
    }

    #[test]
    fn plugin_options_keep_all_toml_types() {
        let s = only(
            "[e]\ntype = 'SandboxEncoder'\nfilename = 'x.lua'\n[e.config]\nn = 1\nf = 1.5\nb = true\n\
             when = 1979-05-27T07:32:00Z\nlist = [1, 2]\n",
        );
        let own = s.no_common().unwrap();
        let config = own.get("config").and_then(toml::Value::as_table).unwrap();
        assert_eq!(config.get("n").and_then(toml::Value::as_integer), Some(1));
        assert_eq!(config.get("f").and_then(toml::Value::as_float), Some(1.5));
        assert_eq!(config.get("b").and_then(toml::Value::as_bool), Some(true));
        assert!(
            config
                .get("when")
                .and_then(toml::Value::as_datetime)
                .is_some()
        );
        assert_eq!(
            config
                .get("list")
                .and_then(toml::Value::as_array)
                .map(Vec::len),
            Some(2)
        );
    }
}
