//! Heka's TOML configuration: loading, `%ENV[...]` substitution, the
//! `[hekad]` globals, plugin sections and the common options of each plugin
//! kind (spec §4).
//!
//! # Shape
//!
//! [`load()`] reads a file or a directory of `*.toml` files into a [`Config`]:
//! the [`Globals`] from `[hekad]` and one [`Section`] per other top-level
//! table. A section knows its instance name, its plugin type (the `type`
//! option, defaulting to the section name) and its [`PluginKind`] (from the
//! type name's suffix). Whether the type is registered is for the pipeline
//! builder to check (see [`ConfigError::unknown_type`]).
//!
//! The builder then splits a section by kind — [`Section::common_input`],
//! [`Section::common_splitter`], [`Section::common_filter_output`], or
//! [`Section::no_common`] for decoders and encoders — into Heka's common
//! options and a [`PluginOptions`] holding the rest, which the plugin
//! deserializes into its own `#[serde(deny_unknown_fields, default)]` struct
//! with [`PluginOptions::parse`].
//!
//! ```
//! # use heka_pipeline::config::{load_str, PluginKind};
//! # use std::path::Path;
//! let config = load_str(
//!     r#"
//!     [tcp_in]
//!     type = "TcpInput"
//!     address = ":5565"
//!     Decoder = "ProtobufDecoder"
//!     "#,
//!     Path::new("example.toml"),
//! )?;
//! let input = &config.sections[0];
//! assert_eq!((input.name.as_str(), input.kind), ("tcp_in", PluginKind::Input));
//! let (common, own) = input.common_input()?;
//! assert_eq!(common.decoder.as_deref(), Some("ProtobufDecoder"));
//! assert_eq!(own.get("address").and_then(|v| v.as_str()), Some(":5565"));
//! # Ok::<(), heka_pipeline::config::ConfigError>(())
//! ```
//!
//! # Errors
//!
//! Every error is a [`ConfigError`] naming the file, section and option it
//! concerns with the line and column (after `%ENV` substitution). toml's
//! span-preserving parser provides the positions; see `table.rs` for how
//! they survive into typed deserialization.
//!
//! # Case of keys
//!
//! Heka's TOML layer matched option names case-insensitively, so the
//! top-level keys of every table are lower-cased (`Message_Matcher` works).
//! Keys inside sub-tables keep their case: some of them are data (field
//! names in `[x.message_fields]`). Two top-level keys of one table that are
//! equal once lower-cased are an error.

mod common;
mod dialect;
mod duration;
mod env;
mod error;
mod globals;
pub mod legacy;
mod load;
mod section;
mod table;

pub use common::{
    BufferingConfig, CommonFilterOutput, CommonInput, CommonSplitter, FILTER_OUTPUT_KEYS,
    FullAction, INPUT_KEYS, RetryDelays, RetryOptions, SPLITTER_KEYS,
};
pub use duration::{DurationError, parse_go_duration};
pub use env::substitute_env;
pub use error::{ConfigError, ErrorKind, Position};
pub use globals::Globals;
pub use load::{load, load_section, load_sections, load_str};
pub use section::{PluginKind, PluginOptions, Section};

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `[hekad]` settings (defaults when the table is absent).
    pub globals: Globals,
    /// The plugin sections, in file order (and, for a directory, in file
    /// name order). Names are unique.
    pub sections: Vec<Section>,
}

impl Config {
    /// Whether the configuration defines no plugin section at all.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Fails with Heka's "empty configuration, exiting" when no plugin
    /// section is defined (hekad refuses to start then).
    pub fn ensure_not_empty(&self) -> Result<(), ConfigError> {
        if self.is_empty() {
            return Err(ConfigError::new(ErrorKind::Empty));
        }
        Ok(())
    }

    /// The section named `name` (exact match).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}
