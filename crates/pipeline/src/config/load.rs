//! Reading a config file or directory into a [`Config`].

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Config;
use super::env::substitute_env;
use super::error::{ConfigError, ErrorKind};
use super::globals::Globals;
use super::section::Section;
use super::table::{SourceFile, TableRef};

/// The name of the globals table.
const HEKAD: &str = "hekad";

/// Loads the configuration at `path`: one TOML file, or a directory.
///
/// For a directory, every entry whose name ends in `.toml` is loaded, in
/// lexical order of the names; other entries and sub-directories are ignored
/// (no recursion). A later file's `[hekad]` replaces an earlier one
/// wholesale. When two files define a plugin section of the same name, the
/// later definition wins and the earlier one is dropped. (Heka initialised
/// both and let the later one take the name; we keep only the later one.)
///
/// Each file is `%ENV[...]`-substituted before parsing. A config without any
/// plugin section loads fine; see [`Config::ensure_not_empty`].
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let io_error = |file: &Path| {
        let file = file.to_path_buf();
        move |e| ConfigError::new(ErrorKind::Io(e)).with_file(file)
    };
    let metadata = fs::metadata(path).map_err(io_error(path))?;
    let files = if metadata.is_dir() {
        toml_files(path).map_err(io_error(path))?
    } else {
        vec![path.to_path_buf()]
    };
    let mut loader = Loader::default();
    for file in files {
        let text = fs::read_to_string(&file).map_err(io_error(&file))?;
        loader.add(&text, file)?;
    }
    loader.finish()
}

/// Loads a configuration from `text`, reporting errors against `file`
/// (which is not read). Used for tests and built-in configurations.
pub fn load_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let mut loader = Loader::default();
    loader.add(text, file.to_path_buf())?;
    loader.finish()
}

/// Reads the one top-level table `name` of `text` as a plugin section, reporting errors against
/// `file` (which is not read); every other table, `[hekad]` included, is ignored. `None` when
/// `text` has no such table.
///
/// For files that hold one plugin's settings among others (ProcessDirectoryInput's process
/// files, which Heka decoded with plain TOML: there is no `%ENV[...]` substitution).
pub fn load_section(text: &str, file: &Path, name: &str) -> Result<Option<Section>, ConfigError> {
    let normalized = super::dialect::normalize(text);
    let source = Arc::new(SourceFile {
        path: file.to_path_buf(),
        text: normalized.text,
        inserted: normalized.inserted,
    });
    let root = source.parse()?;
    match root.iter().find(|(k, _)| k.get_ref() == name) {
        Some((key, value)) => Ok(Some(Section::from_table(TableRef::new(
            &source, key, value,
        )?)?)),
        None => Ok(None),
    }
}

/// Reads every top-level table of `text` except `[hekad]` as a plugin section, ordered by
/// name, reporting errors against `file` (which is not read). Like [`load_section`] there is no
/// `%ENV[...]` substitution: for config text that comes from outside hekad's own files (the
/// SandboxManagerFilter's control messages, which Heka decoded with plain TOML).
pub fn load_sections(text: &str, file: &Path) -> Result<Vec<Section>, ConfigError> {
    let normalized = super::dialect::normalize(text);
    let source = Arc::new(SourceFile {
        path: file.to_path_buf(),
        text: normalized.text,
        inserted: normalized.inserted,
    });
    let root = source.parse()?;
    let mut sections = Vec::new();
    for (key, value) in root.iter() {
        if key.get_ref() == "hekad" {
            continue;
        }
        sections.push(Section::from_table(TableRef::new(&source, key, value)?)?);
    }
    sections.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sections)
}

/// The `*.toml` files directly inside `dir`, sorted by file name.
fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // Heka compat (cmd/hekad/main.go `loadFullConfig`): only names
        // ending in ".toml" count.
        if !entry.file_name().to_string_lossy().ends_with(".toml") {
            continue;
        }
        // `metadata` follows symlinks, so a link to a file is loaded.
        if fs::metadata(entry.path())?.is_dir() {
            continue;
        }
        files.push(entry.path());
    }
    // Heka compat: Go's ioutil.ReadDir sorts by file name.
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Accumulates the files of one configuration.
#[derive(Default)]
struct Loader {
    hekad: Option<TableRef>,
    sections: Vec<Section>,
}

impl Loader {
    fn add(&mut self, text: &str, path: PathBuf) -> Result<(), ConfigError> {
        let text = substitute_env(text).map_err(|e| e.with_file(&path))?;
        let normalized = super::dialect::normalize(&text);
        let source = Arc::new(SourceFile {
            path,
            text: normalized.text,
            inserted: normalized.inserted,
        });
        let root = source.parse()?;
        // toml's map is sorted by key; report sections in file order.
        let mut entries: Vec<_> = root.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in entries {
            let table = TableRef::new(&source, key, value)?;
            if key.get_ref() == HEKAD {
                self.hekad = Some(table);
                continue;
            }
            let section = Section::from_table(table)?;
            self.sections.retain(|s| s.name != section.name);
            self.sections.push(section);
        }
        Ok(())
    }

    fn finish(self) -> Result<Config, ConfigError> {
        let globals = match &self.hekad {
            Some(table) => Globals::from_table(table)?,
            None => Globals::default(),
        };
        Ok(Config {
            globals,
            sections: self.sections,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde::Deserialize;

    use super::super::{ErrorKind, PluginKind, Position};
    use super::*;

    /// A scratch directory, removed when dropped.
    struct TempDir(tempfile::TempDir);

    impl TempDir {
        fn new() -> TempDir {
            TempDir(tempfile::tempdir().unwrap())
        }

        fn path(&self) -> &Path {
            self.0.path()
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.path().join(name);
            fs::write(&path, text).unwrap();
            path
        }
    }

    fn names(config: &Config) -> Vec<&str> {
        config.sections.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn directory_merges_files_in_name_order() {
        let dir = TempDir::new();
        dir.write(
            "10-base.toml",
            "[hekad]\nmaxprocs = 3\npoolsize = 5\n\n[tcp]\ntype = 'TcpInput'\naddress = ':1'\n\n\
             [LogOutput]\nmessage_matcher = 'TRUE'\n",
        );
        dir.write(
            "20-override.toml",
            "[hekad]\npoolsize = 9\n\n[tcp]\ntype = 'UdpInput'\naddress = ':2'\n\n\
             [counter]\ntype = 'CounterFilter'\n",
        );
        // Ignored: not *.toml, or a directory.
        dir.write("30-notes.txt", "this is [not toml");
        dir.write("40-backup.toml.bak", "[broken");
        fs::create_dir(dir.path().join("50-sub.toml")).unwrap();
        fs::write(
            dir.path().join("50-sub.toml").join("x.toml"),
            "[nested_input]\ntype = 'UdpInput'\n",
        )
        .unwrap();

        let config = load(dir.path()).unwrap();
        // The later [hekad] replaces the earlier one wholesale.
        assert_eq!(config.globals.poolsize, 9);
        assert_eq!(config.globals.maxprocs, 1);
        // The later `tcp` wins; the earlier one is gone.
        assert_eq!(names(&config), ["LogOutput", "tcp", "counter"]);
        let tcp = config.section("tcp").unwrap();
        assert_eq!(tcp.type_name, "UdpInput");
        assert_eq!(tcp.get("address").and_then(toml::Value::as_str), Some(":2"));
        assert_eq!(tcp.file(), dir.path().join("20-override.toml"));
        assert_eq!(
            config.section("LogOutput").unwrap().file(),
            dir.path().join("10-base.toml")
        );
        assert!(config.section("nested_input").is_none());
    }

    #[test]
    fn load_sections_reads_every_plugin_table_by_name_without_env() {
        let text = "[hekad]\nmaxprocs = 2\n[b]\ntype = \"SandboxFilter\"\nfilename = '%ENV[HOME]'\n\
                    [a]\ntype = \"CounterFilter\"\n";
        let s = load_sections(text, Path::new("msg")).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(s[1].kind, PluginKind::Filter);
        assert_eq!(
            s[1].get("filename").and_then(toml::Value::as_str),
            Some("%ENV[HOME]")
        );
        assert!(load_sections("[x]\ntype = \"NoKind\"\n", Path::new("msg")).is_err());
        assert!(load_sections("[x\n", Path::new("msg")).is_err());
    }

    #[test]
    fn load_section_reads_one_table_and_ignores_the_rest() {
        let file = Path::new("/procs/5/p.toml");
        let text = "[hekad]\nno_such_global = 1\n[whatever]\nx = 1\n\
                    [ProcessInput]\nTicker_Interval = 3\n[ProcessInput.command.0]\nbin = '%ENV[HOME]'\n";
        let s = load_section(text, file, "ProcessInput").unwrap().unwrap();
        assert_eq!(
            (s.name.as_str(), s.type_name.as_str()),
            ("ProcessInput", "ProcessInput")
        );
        assert_eq!(s.kind, PluginKind::Input);
        assert_eq!(
            s.get("ticker_interval").and_then(toml::Value::as_integer),
            Some(3)
        );
        // No %ENV substitution.
        let bin = s
            .get("command")
            .and_then(|c| c.get("0"))
            .and_then(|c| c.get("bin"));
        assert_eq!(bin.and_then(toml::Value::as_str), Some("%ENV[HOME]"));
        assert_eq!(s.file(), file);
        assert!(
            load_section("[other]\n", file, "ProcessInput")
                .unwrap()
                .is_none()
        );
        let err = load_section("[ProcessInput\n", file, "ProcessInput").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Syntax(_)), "{err}");
        assert_eq!(err.file(), Some(file));
    }

    #[test]
    fn directory_error_names_the_file() {
        let dir = TempDir::new();
        dir.write("a.toml", "[LogOutput]\nmessage_matcher = 'TRUE'\n");
        let bad = dir.write("b.toml", "[x]\ntype = 'UdpInput'\naddress = \n");
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Syntax(_)), "{err}");
        assert_eq!(err.file(), Some(bad.as_path()));
        assert_eq!(
            err.position(),
            Some(Position {
                line: 3,
                column: 11
            })
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}: error decoding config file: ", bad.display())),
            "{err}"
        );
    }

    #[test]
    fn single_file_and_missing_path() {
        let dir = TempDir::new();
        let file = dir.write(
            "hekad.toml",
            "[hekad]\nbase_dir = '/tmp/x'\n[NullSplitter]\n",
        );
        let config = load(&file).unwrap();
        assert_eq!(config.globals.base_dir, Path::new("/tmp/x"));
        assert_eq!(names(&config), ["NullSplitter"]);
        assert_eq!(config.sections[0].kind, PluginKind::Splitter);

        let missing = dir.path().join("nope.toml");
        let err = load(&missing).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Io(_)));
        assert_eq!(err.file(), Some(missing.as_path()));
    }

    #[test]
    fn env_substitution_happens_before_parsing() {
        let dir = TempDir::new();
        // PATH is set in any test environment; what matters is that the
        // value ends up inside the string.
        let file = dir.write(
            "a.toml",
            "# %ENV[UNSET_HEKA_TEST_VARIABLE]\n[x]\ntype = 'UdpInput'\naddress = \"%ENV[PATH]\"\nother = \"%ENV[UNSET_HEKA_TEST_VARIABLE]\"\n",
        );
        let config = load(&file).unwrap();
        let x = config.section("x").unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(
            x.get("address").and_then(toml::Value::as_str),
            Some(path.as_str())
        );
        assert_eq!(x.get("other").and_then(toml::Value::as_str), Some(""));

        let bad = dir.write(
            "b.toml",
            "[x]\ntype = 'UdpInput'\naddress = \"%ENV[PATH\"\n",
        );
        let err = load(&bad).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::EnvMissingDelimiter));
        assert_eq!(err.file(), Some(bad.as_path()));
        assert_eq!(
            err.position(),
            Some(Position {
                line: 3,
                column: 12
            })
        );
    }

    #[test]
    fn duplicate_table_in_one_file_is_a_syntax_error() {
        let err = load_str("[a]\nx = 1\n[a]\ny = 2\n", Path::new("d.toml")).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Syntax(m) if m.contains("duplicate")),
            "{err}"
        );
        assert_eq!(err.position(), Some(Position { line: 3, column: 2 }));
    }

    #[test]
    fn heka_names_with_colons_and_bars_load_and_errors_keep_the_users_columns() {
        // Heka's documentation: `[tcp:5565]` (config/index.rst) and PayloadRegexDecoder's
        // `Field|representation` keys (config/decoders/payload_regex.rst).
        let text = "[tcp:5565]\ntype = \"TcpInput\"\n\n[dec]\ntype = \"PayloadRegexDecoder\"\n\
                    [dec.message_fields]\nUrl|uri = \"%Url%\"\nRequestSize|B = \"%Size%\"\n";
        let config = load_str(text, Path::new("h.toml")).unwrap();
        assert_eq!(names(&config), ["tcp:5565", "dec"]);
        let fields = config.sections[1].get("message_fields").unwrap();
        assert_eq!(
            fields.get("Url|uri").and_then(toml::Value::as_str),
            Some("%Url%")
        );
        assert_eq!(
            fields.get("RequestSize|B").and_then(toml::Value::as_str),
            Some("%Size%")
        );
        assert_eq!(
            config.sections[0].position(),
            Position { line: 1, column: 2 }
        );
        // A bad value after a quoted key is reported where the user wrote it.
        let err = load_str("[a:b]\nk|v = nope\n", Path::new("h.toml")).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Syntax(_)), "{err}");
        assert_eq!(err.position(), Some(Position { line: 2, column: 7 }));
    }

    #[test]
    fn empty_configuration_only_fails_on_request() {
        let config = load_str("[hekad]\npoolsize = 10\n", Path::new("e.toml")).unwrap();
        assert!(config.is_empty());
        let err = config.ensure_not_empty().unwrap_err();
        assert_eq!(err.to_string(), "empty configuration, exiting");
        let config = load_str("[NullSplitter]\n", Path::new("e.toml")).unwrap();
        assert!(!config.is_empty());
        assert!(config.ensure_not_empty().is_ok());
    }

    #[test]
    fn sections_keep_file_order() {
        let config = load_str(
            "[zeta]\ntype = 'UdpInput'\n[alpha]\ntype = 'LogOutput'\n[mid.sub]\nx = 1\n[mid]\ntype = 'PayloadEncoder'\n",
            Path::new("o.toml"),
        )
        .unwrap();
        assert_eq!(names(&config), ["zeta", "alpha", "mid"]);
    }

    /// A config in the style of Heka's documentation examples.
    const REAL_CONFIG: &str = r#"
[hekad]
maxprocs = 2
base_dir = "/var/cache/hekad"
share_dir = "/usr/share/heka"

[TcpInput]
address = "0.0.0.0:5565"
splitter = "HekaFramingSplitter"
decoder = "ProtobufDecoder"

[TcpInput.retries]
max_delay = "30s"
delay = "250ms"
max_retries = 5

[ProtobufDecoder]

[CounterFilter]
message_matcher = "Type != 'heka.counter-output'"
ticker_interval = 5

[PayloadEncoder]
append_newlines = false

[LogOutput]
message_matcher = "Type == 'heka.counter-output'"
encoder = "PayloadEncoder"

[counter_file]
type = "FileOutput"
message_matcher = "Logger == 'CounterFilter'"
path = "/var/log/heka/counter-output.log"
perm = "666"
flush_count = 100
flush_operator = "OR"
encoder = "PayloadEncoder"
use_buffering = true

[counter_file.buffering]
max_file_size = 268435456
full_action = "drop"

[add_fields]
type = "ScribbleDecoder"
    [add_fields.message_fields]
    Environment = "production"
    Type = "scribbled"
"#;

    #[test]
    fn representative_heka_config() {
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct TcpInputConfig {
            address: String,
        }
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct PayloadEncoderConfig {
            append_newlines: bool,
            prefix_ts: bool,
        }
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct FileOutputConfig {
            path: String,
            perm: String,
            flush_count: u32,
            flush_operator: String,
        }
        #[derive(Deserialize, Debug, Default)]
        #[serde(deny_unknown_fields, default)]
        struct ScribbleConfig {
            message_fields: BTreeMap<String, String>,
        }

        let config = load_str(REAL_CONFIG, Path::new("/etc/hekad.toml")).unwrap();
        assert_eq!(config.globals.maxprocs, 2);
        let summary: Vec<_> = config
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.type_name.as_str(), s.kind))
            .collect();
        assert_eq!(
            summary,
            [
                ("TcpInput", "TcpInput", PluginKind::Input),
                ("ProtobufDecoder", "ProtobufDecoder", PluginKind::Decoder),
                ("CounterFilter", "CounterFilter", PluginKind::Filter),
                ("PayloadEncoder", "PayloadEncoder", PluginKind::Encoder),
                ("LogOutput", "LogOutput", PluginKind::Output),
                ("counter_file", "FileOutput", PluginKind::Output),
                ("add_fields", "ScribbleDecoder", PluginKind::Decoder),
            ]
        );

        let tcp = config.section("TcpInput").unwrap();
        let (common, own) = tcp.common_input().unwrap();
        assert_eq!(common.splitter.as_deref(), Some("HekaFramingSplitter"));
        assert_eq!(common.decoder.as_deref(), Some("ProtobufDecoder"));
        assert_eq!(common.retries.max_retries, 5);
        assert_eq!(common.retries.max_delay, Duration::from_secs(30));
        assert_eq!(common.retries.max_jitter, Duration::from_millis(500));
        assert_eq!(
            own.parse::<TcpInputConfig>().unwrap().address,
            "0.0.0.0:5565"
        );

        assert!(
            config
                .section("ProtobufDecoder")
                .unwrap()
                .no_common()
                .unwrap()
                .is_empty()
        );

        let counter = config.section("CounterFilter").unwrap();
        let (common, own) = counter.common_filter_output(false).unwrap();
        assert_eq!(
            common.message_matcher.as_deref(),
            Some("Type != 'heka.counter-output'")
        );
        assert_eq!(common.ticker_interval, Some(5));
        assert!(own.is_empty());

        let encoder = config.section("PayloadEncoder").unwrap();
        let enc: PayloadEncoderConfig = encoder.no_common().unwrap().parse().unwrap();
        assert!(!enc.append_newlines);
        assert!(!enc.prefix_ts);

        let log = config.section("LogOutput").unwrap();
        let (common, own) = log.common_filter_output(true).unwrap();
        assert_eq!(common.encoder.as_deref(), Some("PayloadEncoder"));
        assert!(own.is_empty());

        let file = config.section("counter_file").unwrap();
        let (common, own) = file.common_filter_output(true).unwrap();
        assert_eq!(common.use_buffering, Some(true));
        let buffering = common.buffering.unwrap();
        assert_eq!(buffering.max_file_size, 256 << 20);
        assert_eq!(buffering.full_action, super::super::FullAction::Drop);
        assert_eq!(buffering.cursor_update_count, 1);
        let fo: FileOutputConfig = own.parse().unwrap();
        assert_eq!(fo.path, "/var/log/heka/counter-output.log");
        assert_eq!((fo.perm.as_str(), fo.flush_count), ("666", 100));
        assert_eq!(fo.flush_operator, "OR");

        let scribble = config.section("add_fields").unwrap();
        let sc: ScribbleConfig = scribble.no_common().unwrap().parse().unwrap();
        assert_eq!(
            sc.message_fields.into_iter().collect::<Vec<_>>(),
            [
                ("Environment".to_owned(), "production".to_owned()),
                ("Type".to_owned(), "scribbled".to_owned())
            ]
        );
    }
}
