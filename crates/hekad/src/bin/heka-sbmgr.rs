//! `heka-sbmgr`: loads or unloads a sandbox filter of a running hekad's SandboxManagerFilter
//! (Heka's `cmd/heka-sbmgr`).
//!
//! ```text
//! heka-sbmgr -config sbmgr.toml -action load -script counter.lua -scriptconfig counter.toml
//! heka-sbmgr -config sbmgr.toml -action unload -filtername Counter
//! ```
//!
//! Sends one signed `heka.control.sandbox` message (see `hekad::sbmgr`) to `ip_address`.

use std::process::ExitCode;

use heka_message::Field;
use hekad::cli::{FlagSpec, Flags};
use hekad::sbmgr::{SbmgrConfig, control_message, load_message, unload_message};

const SPEC: &[FlagSpec] = hekad::tools::HEKA_SBMGR.flags;

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit("heka-sbmgr", SPEC);
    let config = match SbmgrConfig::load(flags.value("config").unwrap_or("sbmgr.toml")) {
        Ok(c) => c,
        Err(e) => {
            // Heka compat: cmd/heka-sbmgr/main.go logs the error and exits 0.
            eprintln!("Error decoding config file: {e}");
            return ExitCode::SUCCESS;
        }
    };
    let mut sender = match config.sender() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error creating sender: {e}");
            return ExitCode::FAILURE;
        }
    };
    let action = flags.value("action").unwrap_or("load");
    let message = match action {
        "load" => {
            let script = match std::fs::read_to_string(flags.value("script").unwrap_or("xyz.lua")) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("Error reading scriptFile: {e}");
                    return ExitCode::SUCCESS;
                }
            };
            let conf =
                match std::fs::read_to_string(flags.value("scriptconfig").unwrap_or("xyz.toml")) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("Error reading scriptConfig: {e}");
                        return ExitCode::SUCCESS;
                    }
                };
            load_message(script, conf)
        }
        "unload" => unload_message(flags.value("filtername").unwrap_or("filter")),
        other => {
            // Heka compat: an unknown action is reported and still sent (the manager logs it).
            eprintln!("Invalid action: {other}");
            control_message(None, vec![Field::new_string("action", other.to_string())])
        }
    };
    if let Err(e) = sender.send(&message).and_then(|()| sender.close()) {
        eprintln!("Error sending message: {e}");
    }
    ExitCode::SUCCESS
}
