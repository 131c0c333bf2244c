//! Span-preserving access to one top-level table of a config file.
//!
//! toml's span-aware tree ([`DeTable`]) borrows the text it was parsed from,
//! so it can't be stored next to that text. Instead a [`TableRef`] keeps the
//! (substituted) file text and the table's name, and re-parses the text when
//! a typed struct is deserialized from the table. Config files are small and
//! each section is deserialized a handful of times, so this costs
//! microseconds, and in exchange every serde error comes back with the span
//! of the offending key or value, which becomes a line and column.
//!
//! Top-level keys are lower-cased before deserialization (Heka's TOML layer
//! matches option names case-insensitively); keys inside sub-tables keep their
//! case, because some of them are data (message field names).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ErrorKind, Position};

/// The text of one config file after `%ENV[...]` substitution and the quoting of Heka's bare
/// names (`dialect`).
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    /// Offsets in `text` of the quotes the dialect pass added (not in the user's file).
    pub(crate) inserted: Vec<usize>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SourceFile {
    /// The line and column, in the file as the user wrote it, of `offset` in `text`.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut p = Position::from_offset(&self.text, offset);
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let added = self
            .inserted
            .iter()
            .filter(|&&q| q >= line_start && q < offset)
            .count();
        p.column = p.column.saturating_sub(added).max(1);
        p
    }

    /// Parses the whole file, mapping a syntax error to a [`ConfigError`].
    pub(crate) fn parse(&self) -> Result<DeTable<'_>, ConfigError> {
        DeTable::parse(&self.text)
            .map(Spanned::into_inner)
            .map_err(|e| {
                let mut err = ConfigError::new(ErrorKind::Syntax(e.message().to_owned()))
                    .with_file(&self.path);
                if let Some(span) = e.span() {
                    err = err.with_position(self.position(span.start));
                    // A table header written twice: say which, as Heka's parser did.
                    let line_start = self.text[..span.start].rfind('\n').map_or(0, |i| i + 1);
                    let line = self.text[line_start..].lines().next().unwrap_or_default();
                    if e.message().starts_with("duplicate key")
                        && line.trim_start().starts_with('[')
                    {
                        let header = line.trim();
                        err = err.with_hint(format!(
                            "the table {header} is defined twice (Heka refused this too): \
                             merge the two into one"
                        ));
                    }
                }
                err
            })
    }
}

/// One top-level key of a table and the span of its value.
#[derive(Debug, Clone)]
struct KeySpans {
    /// The key as written (original case).
    original: String,
    value: Range<usize>,
}

/// One top-level table (`[hekad]` or a plugin section) of a config file.
#[derive(Debug, Clone)]
pub(crate) struct TableRef {
    source: Arc<SourceFile>,
    /// The table name as written in the file.
    name: String,
    /// Span of the table's name in its header.
    header: Range<usize>,
    /// Lower-cased top-level keys.
    keys: BTreeMap<String, KeySpans>,
}

impl TableRef {
    /// Indexes the top-level table `name` whose entry in the parsed file is
    /// (`key`, `value`). Fails if it is not a table or if two of its keys
    /// collide once lower-cased.
    pub(crate) fn new(
        source: &Arc<SourceFile>,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Self, ConfigError> {
        let mut table = TableRef {
            source: Arc::clone(source),
            name: key.get_ref().to_string(),
            header: key.span(),
            keys: BTreeMap::new(),
        };
        let DeValue::Table(entries) = value.get_ref() else {
            return Err(table.error_at(key.span().start, ErrorKind::NotATable));
        };
        // In file order, so a collision is reported at the second key.
        let mut entries: Vec<_> = entries.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in entries {
            let lower = k.get_ref().to_lowercase();
            let spans = KeySpans {
                original: k.get_ref().to_string(),
                value: v.span(),
            };
            if let Some(previous) = table.keys.get(&lower) {
                let kind = ErrorKind::DuplicateKey(previous.original.clone(), spans.original);
                return Err(table.error_at(k.span().start, kind).with_option(lower));
            }
            table.keys.insert(lower, spans);
        }
        Ok(table)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn file(&self) -> &Path {
        &self.source.path
    }

    /// Position of the table's header.
    pub(crate) fn position(&self) -> Position {
        self.source.position(self.header.start)
    }

    /// Lower-cased top-level keys, in lexical order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// An error in this table at byte `offset`.
    fn error_at(&self, offset: usize, kind: ErrorKind) -> ConfigError {
        ConfigError::new(kind)
            .with_file(&self.source.path)
            .with_section(&self.name)
            .with_position(self.source.position(offset))
    }

    /// An error about `option` (lower-case), positioned at its value when the
    /// option is present and at the table header otherwise.
    pub(crate) fn error(&self, option: Option<&str>, kind: ErrorKind) -> ConfigError {
        let offset = option
            .and_then(|o| self.keys.get(&o.to_lowercase()))
            .map_or(self.header.start, |s| s.value.start);
        let err = self.error_at(offset, kind);
        match option {
            Some(option) => err.with_option(option),
            None => err,
        }
    }

    /// Deserializes `T` from the top-level keys for which `keep` is true
    /// (keys lower-cased). Errors name the option and its position.
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<T, ConfigError> {
        let root = self.source.parse()?;
        let Some(value) = root.get(self.name.as_str()) else {
            // Can't happen: the same text parsed to a table of this name.
            return Err(self.error(None, ErrorKind::NotATable));
        };
        let DeValue::Table(entries) = value.get_ref() else {
            return Err(self.error(None, ErrorKind::NotATable));
        };
        let mut selected = DeTable::new();
        for (k, v) in entries {
            let lower = k.get_ref().to_lowercase();
            if keep(&lower) {
                selected.insert(Spanned::new(k.span(), Cow::Owned(lower)), v.clone());
            }
        }
        let de = ValueDeserializer::from(Spanned::new(value.span(), DeValue::Table(selected)));
        T::deserialize(de).map_err(|e| self.map_de_error(entries, &e))
    }

    /// Converts every top-level value to a plain [`toml::Value`], keyed by the
    /// lower-cased key.
    pub(crate) fn to_toml_table(&self) -> Result<toml::Table, ConfigError> {
        self.deserialize(|_| true)
    }

    /// Turns a serde error into a [`ConfigError`] naming the top-level option
    /// whose key or value contains the error's span.
    fn map_de_error(&self, entries: &DeTable<'_>, e: &toml::de::Error) -> ConfigError {
        let message = e.message();
        let span = e.span();
        let owner = span.as_ref().and_then(|span| {
            entries
                .iter()
                .find(|(k, v)| entry_contains(k, v, span))
                .map(|(k, _)| k.get_ref().to_lowercase())
        });
        let kind = if let Some(field) = backticked(message, "unknown field `") {
            let key = match &owner {
                Some(owner) if owner.as_str() != field => format!("{owner}.{field}"),
                _ => field.to_owned(),
            };
            ErrorKind::UnknownSetting {
                section: self.name.clone(),
                key,
            }
        } else {
            ErrorKind::Invalid(message.to_owned())
        };
        let option = owner.or_else(|| backticked(message, "missing field `").map(str::to_owned));
        let mut err = ConfigError::new(kind)
            .with_file(&self.source.path)
            .with_section(&self.name);
        if let Some(option) = option {
            err = err.with_option(option);
        }
        if let Some(field) = backticked(message, "unknown field `")
            && let Some(known) = closest_option(field, message)
        {
            err = err.with_hint(format!("did you mean `{known}`?"));
        }
        let offset = span.map_or(self.header.start, |s| s.start);
        err.with_position(self.source.position(offset))
    }
}

/// The option serde's "unknown field `x`, expected one of `a`, `b`" message lists that `x` most
/// likely meant: the same name but for case and `_`/`-` (Go's field name `MatchRegex` for
/// `match_regex`), or one at most two letters away (`adress`); `None` when nothing is close.
fn closest_option<'m>(field: &str, message: &'m str) -> Option<&'m str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let (_, expected) = message.split_once("expected")?;
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let want = squash(field);
    if let Some(k) = known.iter().find(|k| squash(k) == want) {
        return Some(k);
    }
    if want.chars().count() < 4 {
        return None;
    }
    known
        .iter()
        .map(|k| (edit_distance(&want, &squash(k)), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The text between `prefix` and the next backtick, if `message` starts with
/// `prefix` (serde's "unknown field `x`, ..." and "missing field `x`").
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.find('`').map(|end| &rest[..end])
}

fn within(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Whether `span` lies inside the key, the value, or anything nested in the
/// value. (A table opened by a `[a.b]` header has only the header as its own
/// span, so the nested entries are searched too.)
fn entry_contains(
    key: &Spanned<Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
) -> bool {
    within(&key.span(), span) || value_contains(value, span)
}

fn value_contains(value: &Spanned<DeValue<'_>>, span: &Range<usize>) -> bool {
    if within(&value.span(), span) {
        return true;
    }
    match value.get_ref() {
        DeValue::Table(t) => t.iter().any(|(k, v)| entry_contains(k, v, span)),
        DeValue::Array(a) => a.iter().any(|v| value_contains(v, span)),
        _ => false,
    }
}
