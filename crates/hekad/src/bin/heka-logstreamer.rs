//! `heka-logstreamer`: shows which files each LogstreamerInput of a config finds, grouped into
//! logstreams, in the order it reads them (Heka's `cmd/heka-logstreamer`).
//!
//! ```text
//! heka-logstreamer -config /etc/hekad.toml
//! ```
//!
//! `-config` may name a file or a folder of config files, as for hekad. Run with no flag at all
//! it prints the flag defaults and exits. The output is Heka's:
//!
//! ```text
//! Found 1 Logstream(s) for section [nginx].
//!
//! Logstream name: [nginx]
//! Files: 3 (printing oldest to newest)
//!     /var/log/nginx/access.log.2
//!     /var/log/nginx/access.log.1
//!     /var/log/nginx/access.log
//! ```
//!
//! Differences from Heka: sections are listed in file order (Heka: map order), a section whose
//! options are wrong is reported and the others are still listed (Heka stopped at the first
//! scan error), and scoring errors are printed as warnings.

use std::path::Path;
use std::process::ExitCode;

use heka_plugins::inputs::logstreamer::file_set;
use hekad::cli::{FlagSpec, Flags, defaults};

const SPEC: &[FlagSpec] = hekad::tools::HEKA_LOGSTREAMER.flags;

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit("heka-logstreamer", SPEC);
    if flags.count() == 0 {
        eprint!("{}", defaults(SPEC));
        return ExitCode::SUCCESS;
    }
    let path = flags.value("config").unwrap_or("logstreamer.toml");
    let config = match heka_pipeline::config::load(Path::new(path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error decoding config file: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for section in config
        .sections
        .iter()
        .filter(|s| s.type_name == "LogstreamerInput")
    {
        let set = match file_set(section) {
            Ok(set) => set,
            Err(e) => {
                eprintln!("Error initializing LogstreamSet: {e}");
                failed = true;
                continue;
            }
        };
        let scan = set.scan();
        for e in scan.errors.iter().chain(&scan.unsortable) {
            eprintln!("Error scanning: {e}");
        }
        println!(
            "Found {} Logstream(s) for section [{}].",
            scan.streams.len(),
            section.name
        );
        for (name, files) in &scan.streams {
            println!("\nLogstream name: [{name}]");
            println!("Files: {} (printing oldest to newest)", files.len());
            for f in files {
                println!("\t{}", f.path.display());
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
