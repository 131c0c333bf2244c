//! `lua-boundary`: the cost of the Lua boundary, timed directly on a SandboxFilter's sandbox.
//!
//! A filter script whose `process_message` calls `read_message` three times (Type, Payload and
//! a field) and counts is called on one message over and over, on this thread, with nothing
//! else in the way (no router, no channel, no runner). Beside it the same call to a script
//! that only returns 0, the bare call; and the three reads' share is the difference. Each
//! figure is the median of `--repeat` rounds of `--count` calls.
//!
//! The message is the bench's framed message (Type, Logger, Hostname, Severity, Pid, a
//! 100-byte Payload, `status` and `bytes` fields) held as ProtobufDecoder leaves it: its
//! encoding validated and indexed, decoded only when something reads it (then once).
//!
//! ```sh
//! cargo run --release -p heka-bench --bin lua-boundary -- --count 2000000 --repeat 3
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::config::load_str;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::Decoder;
use heka_pipeline::registry::BuildContext;
use heka_sandbox::{InjectBudget, Kind, Limits, Sandbox, Settings};

/// The measured script: three reads and a count.
const READ3: &str = r#"
local count = 0
function process_message()
    local t = read_message("Type")
    local p = read_message("Payload")
    local s = read_message("Fields[status]")
    count = count + 1
    return 0
end
function timer_event(ns) end
"#;

/// The bare call.
const EMPTY: &str = r#"
function process_message() return 0 end
function timer_event(ns) end
"#;

/// The nginx `combined` format and one line of the generated log's kind.
const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const LINE: &str = r#"10.1.183.34 - - [02/Dec/2026:10:14:03 +0000] "GET /api/v1/items/48213?page=3 HTTP/1.1" 200 5123 "https://www.example.com/search?q=heka" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
"#;

fn message() -> Message {
    let mut m = Message::new_now();
    m.set_type("bench.msg");
    m.set_logger("heka-bench");
    m.set_hostname("bench-host");
    m.severity = Some(6);
    m.pid = Some(4242);
    m.set_payload("x".repeat(100));
    m.add_field(Field::new_string("status", "ok"));
    m.add_field(Field::new_integer("bytes", 1234));
    m
}

/// This thread's CPU time in nanoseconds: unlike the wall clock, it does not count the time
/// other processes on a loaded machine take the core away.
#[allow(unsafe_code)]
fn thread_cpu_ns() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for clock_gettime to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

/// Nanoseconds of wall clock and of CPU per `process_message` call of `script`, each the
/// median of `repeat` rounds.
fn time_script(
    dir: &std::path::Path,
    name: &str,
    script: &str,
    count: u64,
    repeat: u32,
) -> Result<(f64, f64)> {
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, script)?;
    let pack = Pack::from_encoded(Bytes::from(message().to_bytes())).context("the message")?;
    let settings = Settings {
        kind: Kind::Filter,
        script: path,
        module_dirs: Vec::new(),
        limits: Limits::default(),
        config: Default::default(),
        preservation: None,
        parse_time: None,
    };
    time_sandbox(name, settings, &pack, count, repeat)
}

/// The same for the repository's `lua_decoders/nginx_access.lua` decoding [`LINE`].
/// SandboxDecoder (nginx_access.lua) or NginxAccessDecoder with the combined format, built
/// from a config section as hekad builds it.
fn nginx_decoder(type_name: &str) -> Result<Box<dyn Decoder>> {
    let share = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../share/heka"));
    let script = match type_name {
        "SandboxDecoder" => "filename = \"lua_decoders/nginx_access.lua\"\n",
        _ => "",
    };
    let text = format!(
        "[hekad]\nshare_dir = {share:?}\n[d]\ntype = {type_name:?}\n{script}\
         [d.config]\ntype = \"nginx.access\"\nlog_format = '{COMBINED}'\n",
        share = share.display().to_string(),
    );
    let cfg = load_str(&text, std::path::Path::new("bench.toml"))?;
    let registry = heka_plugins::builtin();
    let spec = registry
        .decoder(type_name)
        .ok_or_else(|| anyhow!("{type_name} is not registered"))?;
    let section = cfg.section("d").ok_or_else(|| anyhow!("no section [d]"))?;
    let options = section.no_common()?;
    let decoder = (spec.build)(&BuildContext {
        name: "d",
        section,
        options: &options,
        globals: &cfg.globals,
        check_only: false,
        decoders: Default::default(),
        links: &Default::default(),
        stats: Default::default(),
    })?;
    Ok(decoder)
}

/// CPU and wall ns per `decode` of the combined line (a fresh pack each call, as a splitter
/// makes one per line; its making is timed too, the same for both decoders).
fn time_decoder(type_name: &str, count: u64, repeat: u32) -> Result<(f64, f64)> {
    let mut decoder = nginx_decoder(type_name)?;
    let line = Bytes::from_static(LINE.trim_end().as_bytes());
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut extra = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        for _ in 0..count {
            let mut m = Message::new_now();
            m.payload = Some(line.clone());
            let mut pack = Pack::new(m);
            decoder
                .decode(&mut pack, &mut extra)
                .map_err(|e| anyhow!("{type_name}: {e}"))?;
            if pack.message().fields.len() != 7 {
                bail!("{type_name}: {} fields", pack.message().fields.len());
            }
        }
        cpu.push((thread_cpu_ns() - cpu_start) / count as f64);
        wall.push(start.elapsed().as_nanos() as f64 / count as f64);
    }
    Ok((median(wall), median(cpu)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_sandbox(
    name: &str,
    settings: Settings,
    pack: &Pack,
    count: u64,
    repeat: u32,
) -> Result<(f64, f64)> {
    let mut sandbox = Sandbox::start(settings).map_err(|e| anyhow!("{name}: {e}"))?;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        for _ in 0..count {
            let o = sandbox
                .process_message(pack, InjectBudget::Unlimited)
                .map_err(|e| anyhow!("{name}: {e}"))?;
            if o.status != 0 {
                bail!("{name}: status {}", o.status);
            }
        }
        cpu.push((thread_cpu_ns() - cpu_start) / count as f64);
        wall.push(start.elapsed().as_nanos() as f64 / count as f64);
    }
    Ok((median(wall), median(cpu)))
}

fn main() -> Result<()> {
    let mut count: u64 = 2_000_000;
    let mut repeat: u32 = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{a} needs a value"));
        match a.as_str() {
            "--count" => count = value()?.parse().context("--count")?,
            "--repeat" => repeat = value()?.parse().context("--repeat")?,
            _ => bail!("usage: lua-boundary [--count N] [--repeat N]"),
        }
    }
    if count == 0 || repeat == 0 {
        bail!("--count and --repeat must be positive");
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("lua-boundary-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let empty = time_script(&dir, "empty", EMPTY, count, repeat);
    let read3 = time_script(&dir, "read3", READ3, count, repeat);
    let _ = std::fs::remove_dir_all(&dir);
    let (empty, read3) = (empty?, read3?);
    let lua = time_decoder("SandboxDecoder", count / 10, repeat)?;
    let native = time_decoder("NginxAccessDecoder", count / 10, repeat)?;
    println!("| script | CPU ns per process_message | wall ns | calls per CPU-second |");
    println!("|---|---:|---:|---:|");
    for (what, (wall, cpu)) in [
        ("empty (the bare call)", empty),
        ("3 x read_message + count", read3),
        (
            "SandboxDecoder (nginx_access.lua) decoding a combined line",
            lua,
        ),
        ("NginxAccessDecoder decoding the same line", native),
    ] {
        println!("| {what} | {cpu:.0} | {wall:.0} | {:.0} |", 1e9 / cpu);
    }
    println!(
        "\nThe three read_message calls add {:.0} CPU ns; the boundary (call + 3 reads) is \
         {:.3} CPU us/msg (target <= 0.5). {count} calls x {repeat} rounds, median.",
        read3.1 - empty.1,
        read3.1 / 1000.0
    );
    println!(
        "NginxAccessDecoder / SandboxDecoder(nginx_access.lua): {:.2} x (CPU ns; target >= 5).",
        lua.1 / native.1
    );
    Ok(())
}
