//! Writes the man page of hekad and of each tool, from their flag tables, into a directory.
//!
//! ```text
//! cargo run -p hekad --example manpages -- OUT_DIR [DATE]
//! ```
//!
//! `DATE` (`YYYY-MM-DD`, shown in each page's footer) defaults to the date of
//! `SOURCE_DATE_EPOCH` when set, else today (UTC). `scripts/package.sh` runs this for the Debian
//! package.

use std::path::PathBuf;
use std::process::ExitCode;

use hekad::tools::{ALL, manpage};

/// The civil date (UTC) of a Unix time in seconds.
fn civil_date(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "1970-01-01".to_owned())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: manpages OUT_DIR [YYYY-MM-DD]");
        return ExitCode::from(2);
    };
    let date = args.next().unwrap_or_else(|| {
        let secs = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| jiff::Timestamp::now().as_second());
        civil_date(secs)
    });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("manpages: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for tool in ALL {
        let path = dir.join(format!("{}.1", tool.name));
        let page = manpage(tool, env!("CARGO_PKG_VERSION"), &date);
        if let Err(e) = std::fs::write(&path, page) {
            eprintln!("manpages: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(951_782_400), "2000-02-29");
        assert_eq!(super::civil_date(1_796_256_000), "2026-12-03");
    }
}
