//! `heka-sbmgrload`: a load test for the SandboxManagerFilter (Heka's `cmd/heka-sbmgrload`).
//!
//! ```text
//! heka-sbmgrload -config sbmgr.toml -action load -num 50
//! heka-sbmgrload -config sbmgr.toml -action unload -num 50
//! ```
//!
//! Loads (or unloads) the filters `CounterSandbox0` … `CounterSandbox<num-1>`, each running
//! the counting script below on messages of Type `hekabench`.

use std::process::ExitCode;

use hekad::cli::{FlagSpec, Flags, usage};
use hekad::sbmgr::{SbmgrConfig, load_message, unload_message};

const SPEC: &[FlagSpec] = hekad::tools::HEKA_SBMGRLOAD.flags;

/// Counts messages; every tick with new ones it reports the rate, every ten reports a summary.
const COUNTER: &str = r#"
require "string"
require "table"

local last_ns = 0
local last_count = 0
count = 0
local rates = {}

function process_message()
    count = count + 1
    return 0
end

function timer_event(ns)
    local new = count - last_count
    if new == 0 then return end
    if last_ns == 0 then last_ns = ns - 1e9 end
    local elapsed = ns - last_ns
    if elapsed <= 0 then return end
    last_count = count
    last_ns = ns
    local rate = new / (elapsed / 1e9)
    rates[#rates + 1] = rate
    inject_payload("txt", "rate", string.format("Got %d messages. %0.2f msg/sec", count, rate))
    if #rates == 10 then
        table.sort(rates)
        local sum = 0
        for _, r in ipairs(rates) do sum = sum + r end
        inject_payload("txt", "summary", string.format(
            "AGG Sum. Min: %0.2f Max: %0.2f Mean: %0.2f", rates[1], rates[#rates], sum / #rates))
        rates = {}
    end
end
"#;

/// The filter config of instance `i`.
fn filter_config(i: u64) -> String {
    format!(
        "[CounterSandbox{i}]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Type == 'hekabench'\"\n\
         ticker_interval = 1\nfilename = \"\"\npreserve_data = true\n"
    )
}

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit("heka-sbmgrload", SPEC);
    // Go's flag.Int: any 64-bit integer; a negative count sends nothing.
    let num = match flags.parsed::<i64>("num") {
        Ok(n) => u64::try_from(n.unwrap_or(1)).unwrap_or(0),
        Err(err) => {
            eprintln!("{err}");
            eprint!("{}", usage("heka-sbmgrload", SPEC));
            return ExitCode::from(2);
        }
    };
    let config = match SbmgrConfig::load(flags.value("config").unwrap_or("sbmgrload.toml")) {
        Ok(c) => c,
        Err(e) => {
            // Heka compat: cmd/heka-sbmgrload/main.go logs the error and exits 0.
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
    let messages: Vec<_> = match action {
        "load" => (0..num)
            .map(|i| load_message(COUNTER.to_string(), filter_config(i)))
            .collect(),
        "unload" => (0..num)
            .map(|i| unload_message(&format!("CounterSandbox{i}")))
            .collect(),
        other => {
            eprintln!("Invalid action: {other}");
            return ExitCode::SUCCESS;
        }
    };
    for m in &messages {
        if let Err(e) = sender.send(m) {
            eprintln!("Error sending message: {e}");
        }
    }
    if let Err(e) = sender.close() {
        eprintln!("Error sending message: {e}");
    }
    ExitCode::SUCCESS
}
