//! `common_log_format.normalize_user_agent`: browser, version and OS of a user agent.

use memchr::memmem;

/// Operating systems: the first whose marker appears wins.
const OS: &[(&str, &str)] = &[
    ("iPod", "iPod"),
    ("iPad", "iPad"),
    ("iPhone", "iPhone"),
    ("Android", "Android"),
    ("BlackBerry", "BlackBerry"),
    ("Linux", "Linux"),
    ("Macintosh", "Macintosh"),
    ("Mozilla/5.0 (Mobile;", "FirefoxOS"),
    ("Windows NT 10.0", "Windows 10"),
    ("Windows NT 6.3", "Windows 8.1"),
    ("Windows NT 6.2", "Windows 8"),
    ("Windows NT 6.1", "Windows 7"),
    ("Windows NT 6.0", "Windows Vista"),
    ("Windows NT 5.1", "Windows XP"),
    ("Windows NT 5.0", "Windows 2000"),
];

/// Where a browser's version is read.
enum Version {
    /// The integer after the last `/`.
    AfterLastSlash,
    /// The integer right after the first occurrence of this marker.
    After(&'static str),
}

/// Browsers: the first whose name appears wins.
const BROWSERS: &[(&str, Version)] = &[
    ("Chrome", Version::After("Chrome/")),
    ("Opera Mini", Version::AfterLastSlash),
    ("Opera Mobi", Version::AfterLastSlash),
    ("Opera", Version::AfterLastSlash),
    ("MSIE", Version::After("MSIE ")),
    ("Safari", Version::AfterLastSlash),
    ("Firefox", Version::After("Firefox/")),
];

/// The leading integer of `s` as Lua's `tonumber` reads it, if `s` starts with a digit.
fn integer(s: &[u8]) -> Option<f64> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    std::str::from_utf8(&s[..n]).ok()?.parse().ok()
}

/// What a user agent names.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Agent {
    /// The browser.
    pub(crate) browser: Option<&'static str>,
    /// Its major version.
    pub(crate) version: Option<f64>,
    /// The operating system.
    pub(crate) os: Option<&'static str>,
}

/// Browser, version and OS of `ua`; each `None` when not recognised.
pub(crate) fn normalize(ua: &[u8]) -> Agent {
    let os = OS
        .iter()
        .find(|(marker, _)| memmem::find(ua, marker.as_bytes()).is_some())
        .map(|(_, name)| *name);
    let mut agent = Agent {
        os,
        ..Agent::default()
    };
    if let Some((name, version)) = BROWSERS
        .iter()
        .find(|(name, _)| memmem::find(ua, name.as_bytes()).is_some())
    {
        agent.browser = Some(name);
        agent.version = match version {
            Version::AfterLastSlash => {
                memchr::memrchr(b'/', ua).and_then(|i| integer(&ua[i + 1..]))
            }
            Version::After(marker) => {
                memmem::find(ua, marker.as_bytes()).and_then(|i| integer(&ua[i + marker.len()..]))
            }
        };
    }
    agent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_versions_and_systems() {
        let n = |ua: &str| normalize(ua.as_bytes());
        assert_eq!(
            n(
                "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            ),
            Agent {
                browser: Some("Chrome"),
                version: Some(120.0),
                os: Some("Windows 7")
            }
        );
        assert_eq!(
            n("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0"),
            Agent {
                browser: Some("Firefox"),
                version: Some(26.0),
                os: Some("Linux")
            }
        );
        assert_eq!(
            n(
                "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010"
            ),
            Agent {
                browser: Some("Opera Mini"),
                version: Some(11.0),
                os: Some("Android")
            }
        );
        assert_eq!(
            n("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)"),
            Agent {
                browser: Some("MSIE"),
                version: Some(8.0),
                os: Some("Windows XP")
            }
        );
        // Safari without a number after the last slash.
        assert_eq!(
            n("Safari/x"),
            Agent {
                browser: Some("Safari"),
                version: None,
                os: None
            }
        );
        assert_eq!(n("curl/8.5.0"), Agent::default());
    }
}
