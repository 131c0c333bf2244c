//! The one error type of configuration loading.
//!
//! Every configuration problem is reported as a [`ConfigError`]: an
//! [`ErrorKind`] saying what is wrong, plus as much context as is known (the
//! file, the `[section]`, the option and the 1-based line and column in the
//! file after `%ENV[...]` substitution). Its `Display` puts them together as
//!
//! ```text
//! <file>: [<section>] <option>: <message> (line L, column C)
//! ```
//!
//! leaving out the parts that are unknown.

use std::fmt;
use std::path::{Path, PathBuf};

/// A 1-based line and column (counted in characters) inside a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl Position {
    /// Computes the position of byte `offset` inside `text`.
    ///
    /// Offsets past the end (or inside a multi-byte character) are clamped to
    /// the nearest valid position before them.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What went wrong while loading or checking the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The config file or directory could not be read.
    #[error("can't read config: {0}")]
    Io(std::io::Error),
    /// The file is not valid TOML (the same table twice, a bad value, ...).
    #[error("error decoding config file: {0}")]
    Syntax(String),
    /// A `%ENV[` has no closing `]` anywhere after it.
    #[error("missing closing delimiter")]
    EnvMissingDelimiter,
    /// A `%ENV[NAME]` whose NAME contains whitespace or another `%ENV[`.
    #[error("invalid characters in environmental variable")]
    EnvInvalidChars,
    /// A top-level key that is a plain value instead of a `[table]`.
    #[error("not a table: every top-level entry must be a [section]")]
    NotATable,
    /// The plugin type (given) has none of the six category suffixes.
    #[error("unrecognized plugin category for type '{0}'")]
    UnrecognizedCategory(String),
    /// No plugin is registered under this type name (reported by the
    /// pipeline builder, see [`ConfigError::unknown_type`]).
    #[error("No registered plugin type: {0}")]
    UnknownType(String),
    /// An option that is neither a plugin option nor a common option.
    #[error("unknown config setting for '{section}': {key}")]
    UnknownSetting {
        /// The section (plugin instance) name.
        section: String,
        /// The offending key; nested keys are joined with dots.
        key: String,
    },
    /// Two keys of one section differ only in letter case; option names are
    /// matched case-insensitively, so they would name the same option.
    #[error("duplicate option: '{0}' and '{1}' differ only in case")]
    DuplicateKey(String, String),
    /// A value of the wrong type, out of range, or otherwise rejected.
    #[error("{0}")]
    Invalid(String),
    /// The configuration defines no plugin at all.
    #[error("empty configuration, exiting")]
    Empty,
}

/// A configuration error with the file, section, option and position it
/// concerns, where known.
#[derive(Debug)]
pub struct ConfigError(Box<Inner>);

/// Boxed so that `Result<_, ConfigError>` stays one pointer wide.
#[derive(Debug)]
struct Inner {
    file: Option<PathBuf>,
    section: Option<String>,
    option: Option<String>,
    position: Option<Position>,
    kind: ErrorKind,
    /// What to write instead, when we can tell.
    hint: Option<String>,
}

impl ConfigError {
    /// Creates an error without any context.
    pub fn new(kind: ErrorKind) -> Self {
        ConfigError(Box::new(Inner {
            file: None,
            section: None,
            option: None,
            position: None,
            kind,
            hint: None,
        }))
    }

    /// Creates an [`ErrorKind::Invalid`] error with a free-form message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid(message.into()))
    }

    /// The "no registered plugin type" error for `section`, positioned at
    /// its `type` value (or at its header when `type` was defaulted).
    pub fn unknown_type(section: &super::Section) -> Self {
        section.error_kind(
            Some("type"),
            ErrorKind::UnknownType(section.type_name.clone()),
        )
    }

    /// Sets the file the error concerns.
    #[must_use]
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.0.file = Some(file.into());
        self
    }

    /// Sets the section the error concerns.
    #[must_use]
    pub fn with_section(mut self, section: impl Into<String>) -> Self {
        self.0.section = Some(section.into());
        self
    }

    /// Sets the option the error concerns.
    #[must_use]
    pub fn with_option(mut self, option: impl Into<String>) -> Self {
        self.0.option = Some(option.into());
        self
    }

    /// Sets the position the error concerns.
    #[must_use]
    pub fn with_position(mut self, position: Position) -> Self {
        self.0.position = Some(position);
        self
    }

    /// Adds what to write instead (shown after the position).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// What to write instead, when known.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The config file, if known.
    pub fn file(&self) -> Option<&Path> {
        self.0.file.as_deref()
    }

    /// The section name, if the error concerns one section.
    pub fn section(&self) -> Option<&str> {
        self.0.section.as_deref()
    }

    /// The option name, if the error concerns one option.
    pub fn option(&self) -> Option<&str> {
        self.0.option.as_deref()
    }

    /// The position in the file, if known.
    pub fn position(&self) -> Option<Position> {
        self.0.position
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.0;
        if let Some(file) = &inner.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(section) = &inner.section {
            write!(f, "[{section}] ")?;
        }
        if let Some(option) = &inner.option {
            write!(f, "{option}: ")?;
        }
        write!(f, "{}", inner.kind)?;
        if let Some(position) = &inner.position {
            write!(f, " ({position})")?;
        }
        if let Some(hint) = &inner.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl From<ErrorKind> for ConfigError {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let text = "ab\nçd = 1\n";
        assert_eq!(
            Position::from_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            Position::from_offset(text, 3),
            Position { line: 2, column: 1 }
        );
        // 'ç' is two bytes but one column.
        assert_eq!(
            Position::from_offset(text, 5),
            Position { line: 2, column: 2 }
        );
        // Inside the multi-byte character: clamped back to its start.
        assert_eq!(
            Position::from_offset(text, 4),
            Position { line: 2, column: 1 }
        );
        assert_eq!(
            Position::from_offset(text, 1000),
            Position { line: 3, column: 1 }
        );
    }

    #[test]
    fn display_joins_known_parts() {
        let full = ConfigError::invalid("bad value")
            .with_file("/etc/hekad.toml")
            .with_section("TcpInput")
            .with_option("address")
            .with_position(Position {
                line: 3,
                column: 11,
            });
        assert_eq!(
            full.to_string(),
            "/etc/hekad.toml: [TcpInput] address: bad value (line 3, column 11)"
        );
        let bare = ConfigError::new(ErrorKind::Empty);
        assert_eq!(bare.to_string(), "empty configuration, exiting");
        let file_only = ConfigError::new(ErrorKind::EnvMissingDelimiter)
            .with_file("a.toml")
            .with_position(Position { line: 1, column: 5 });
        assert_eq!(
            file_only.to_string(),
            "a.toml: missing closing delimiter (line 1, column 5)"
        );
    }
}
