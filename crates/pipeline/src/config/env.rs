//! `%ENV[NAME]` substitution, done on the raw text before TOML parsing.
//!
//! Rules (Heka's `EnvSub` in pipeline/config.go):
//! * `%ENV[NAME]` anywhere in the file, comments included, is replaced by the
//!   value of the environment variable NAME, or by nothing when it is unset.
//! * NAME runs to the first `]`. No `]` after a `%ENV[` is an error ("missing
//!   closing delimiter"); a NAME containing a space, tab, CR, LF or the text
//!   `%ENV[` is an error ("invalid characters in environmental variable").
//! * Every other `%` is copied unchanged; there is no escaping mechanism.
//! * Substitution is not recursive: a value containing `%ENV[...]` is copied
//!   as is.

use super::error::{ConfigError, ErrorKind, Position};

const OPEN: &str = "%ENV[";

/// Replaces every `%ENV[NAME]` in `text` with the process environment's value
/// of NAME ("" when unset or not valid UTF-8 — the result has to be UTF-8 TOML).
///
/// Errors carry the position of the offending `%ENV[` but no file name.
pub fn substitute_env(text: &str) -> Result<String, ConfigError> {
    substitute_with(text, |name| {
        // `var_os` may panic for names that can't be environment keys; such a
        // name can't be set, so it reads as unset (as Go's `os.Getenv` does).
        if name.is_empty() || name.contains(['=', '\0']) {
            return None;
        }
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    })
}

/// [`substitute_env`] with an explicit variable lookup (used by tests, which
/// can't set process variables safely).
pub(crate) fn substitute_with(
    text: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let at =
            |kind| ConfigError::new(kind).with_position(Position::from_offset(text, base + start));
        let after = &rest[start + OPEN.len()..];
        let Some(close) = after.find(']') else {
            return Err(at(ErrorKind::EnvMissingDelimiter));
        };
        let name = &after[..close];
        if name.contains([' ', '\t', '\r', '\n']) || name.contains(OPEN) {
            return Err(at(ErrorKind::EnvInvalidChars));
        }
        if let Some(value) = lookup(name) {
            out.push_str(&value);
        }
        let consumed = start + OPEN.len() + close + 1;
        rest = &rest[consumed..];
        base += consumed;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> Result<String, ConfigError> {
        substitute_with(text, |name| match name {
            "HOST" => Some("example.org".to_owned()),
            "NESTED" => Some("%ENV[HOST]".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        })
    }

    #[test]
    fn replaces_set_and_unset_variables() {
        assert_eq!(
            sub("address = \"%ENV[HOST]:5565\"").unwrap(),
            "address = \"example.org:5565\""
        );
        assert_eq!(sub("a = \"%ENV[NOPE]x\"").unwrap(), "a = \"x\"");
        assert_eq!(sub("%ENV[EMPTY]%ENV[HOST]").unwrap(), "example.org");
        // Comments are not special.
        assert_eq!(sub("# %ENV[HOST]\n").unwrap(), "# example.org\n");
    }

    #[test]
    fn other_percent_signs_are_copied() {
        assert_eq!(sub("100% %E %ENV %ENV(x)").unwrap(), "100% %E %ENV %ENV(x)");
        assert_eq!(sub("%%ENV[HOST]").unwrap(), "%example.org");
        assert_eq!(sub("trailing %").unwrap(), "trailing %");
        // Case-sensitive opener.
        assert_eq!(sub("%env[HOST]").unwrap(), "%env[HOST]");
    }

    #[test]
    fn not_recursive() {
        assert_eq!(sub("x = '%ENV[NESTED]'").unwrap(), "x = '%ENV[HOST]'");
    }

    #[test]
    fn missing_closing_delimiter() {
        let err = sub("a = 1\nb = \"%ENV[HOST\"\n").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::EnvMissingDelimiter));
        assert_eq!(err.position(), Some(Position { line: 2, column: 6 }));
        assert_eq!(
            err.to_string(),
            "missing closing delimiter (line 2, column 6)"
        );
    }

    #[test]
    fn invalid_characters() {
        for text in [
            "%ENV[A B]",
            "%ENV[A\tB]",
            "%ENV[A\nB]",
            "%ENV[A\r]",
            "%ENV[%ENV[HOST]]",
            // A `]` on a later line: the name spans the newline.
            "x = '%ENV[HOST'\ny = ']'",
        ] {
            let err = sub(text).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::EnvInvalidChars),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn reads_the_process_environment() {
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(substitute_env("p=%ENV[PATH]").unwrap(), format!("p={path}"));
        assert_eq!(substitute_env("%ENV[]").unwrap(), "");
        assert_eq!(substitute_env("%ENV[A=B]").unwrap(), "");
    }
}
