//! `heka-inject`: sends one message to hekad over TCP (Heka's `cmd/heka-inject`).
//!
//! ```text
//! heka-inject -heka 127.0.0.1:5565 -type my.type -payload "hello" -severity 6
//! ```
//!
//! The message carries the given type, logger, severity, payload, pid and host name, the
//! current time and a random UUID, and is sent unsigned in Heka's stream framing. Run with no
//! flag at all it prints the flag defaults and exits.

use std::process::ExitCode;

use heka_client::{Error, MessageBuilder, SenderOptions, TcpSender, local_hostname};
use hekad::cli::{FlagSpec, Flags, defaults, usage};

const SPEC: &[FlagSpec] = hekad::tools::HEKA_INJECT.flags;

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit("heka-inject", SPEC);
    if flags.count() == 0 {
        eprint!("{}", defaults(SPEC));
        return ExitCode::SUCCESS;
    }
    // Go's flag.Int accepts any 64-bit integer; the message fields are int32.
    let int_flag = |name: &str, default: i64| match flags.parsed::<i64>(name) {
        Ok(value) => Ok(value.unwrap_or(default)),
        Err(err) => {
            eprintln!("{err}");
            eprint!("{}", usage("heka-inject", SPEC));
            Err(ExitCode::from(2))
        }
    };
    let severity = match int_flag("severity", 7) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let pid = match int_flag("pid", 0) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let pid = if pid == 0 {
        i64::from(std::process::id())
    } else {
        pid
    };
    let hostname = match flags.value("hostname") {
        Some(h) if !h.is_empty() => h.to_owned(),
        _ => local_hostname(),
    };

    // Heka compat: cmd/heka-inject/main.go sets every header field, empty or not, and
    // truncates the integers to int32.
    let message = MessageBuilder::new()
        .message_type(flags.value("type").unwrap_or("inject.message").to_owned())
        .logger(flags.value("logger").unwrap_or("Inject Client").to_owned())
        .pid(pid as i32)
        .severity(severity as i32)
        .hostname(hostname)
        .payload(flags.value("payload").unwrap_or("").to_owned())
        .build();

    let addr = flags.value("heka").unwrap_or("127.0.0.1:5565");
    let options = SenderOptions {
        reconnect_attempts: 0,
        ..SenderOptions::default()
    };
    // Heka compat: cmd/heka-inject/main.go says nothing when it cannot connect and exits 0.
    let Ok(mut sender) = TcpSender::connect_with(addr, options) else {
        return ExitCode::SUCCESS;
    };
    let result = sender.send(&message).and_then(|()| sender.close());
    match result {
        Ok(()) => {}
        Err(Error::Encode(err)) => eprintln!("Inject: [error] encode message: {err}"),
        Err(err) => eprintln!("Inject: [error] send message: {err}"),
    }
    // Heka compat: errors are reported but the exit status is always 0.
    ExitCode::SUCCESS
}
