//! The decode stage (Heka's DecoderRunner): inputs that read on a thread of their own hand
//! their batches to decode threads unless `synchronous_decode` is set, and a parallel-safe
//! decoder (NginxAccessDecoder, or `nginx_access.lua`, which declares
//! `decoder_is_stateless = true`) has one busy log decoded on every decode thread at once.
//! Whatever the path, the messages leave in the order of the log's lines.

use std::path::{Path, PathBuf};

use crate::support::*;

fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

const FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// `n` combined-format lines, 40 to a second, every line different.
fn access_log(n: usize) -> String {
    (0..n)
        .map(|i| {
            let s = i / 40;
            format!(
                "10.{}.{}.{} - - [04/Dec/2026:{:02}:{:02}:{:02} +0000] \"GET /item/{i} HTTP/1.1\" {} {} \"-\" \"agent/{}\"\n",
                i % 251,
                i / 251 % 256,
                i % 7 + 1,
                s / 3600 % 24,
                s / 60 % 60,
                s % 60,
                [200, 304, 404][i % 3],
                i * 3,
                i % 11,
            )
        })
        .collect()
}

/// One input per way of decoding, each tailing the same log into its own output file (the
/// lines themselves, `payload_keep`, no newline added).
fn config(logs: &Path) -> String {
    let mut c = format!(
        r#"
[hekad]
base_dir = "{{dir}}/base"
share_dir = "{share}"

[PayloadEncoder]
append_newlines = false

[LuaDecoder]
type = "SandboxDecoder"
filename = "lua_decoders/nginx_access.lua"

[LuaDecoder.config]
type = "nginx.access"
payload_keep = true
log_format = '{FORMAT}'

[NativeDecoder]
type = "NginxAccessDecoder"

[NativeDecoder.config]
type = "nginx.access"
payload_keep = true
log_format = '{FORMAT}'
"#,
        share = share_dir().display(),
    );
    for (input, decoder, sync) in [
        ("LuaIn", "LuaDecoder", false),
        ("SyncIn", "LuaDecoder", true),
        ("NativeIn", "NativeDecoder", false),
    ] {
        c.push_str(&format!(
            r#"
[{input}]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log'
decoder = "{decoder}"
synchronous_decode = {sync}

[{input}Out]
type = "FileOutput"
message_matcher = "Logger == '{input}' && Type == 'nginx.access'"
path = "{{dir}}/{input}.log"
encoder = "PayloadEncoder"
"#,
            logs = logs.display(),
        ));
    }
    c
}

/// The names of hekad's threads.
fn thread_names(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim_end().to_string())
        .collect()
}

#[test]
fn a_busy_log_is_decoded_on_every_decode_thread_and_leaves_in_order() {
    let logs = tempfile::tempdir().unwrap();
    let log = access_log(30_000);
    std::fs::write(logs.path().join("access.log"), &log).unwrap();
    let mut h = Hekad::start(&config(logs.path()));
    let mut names = Vec::new();
    for input in ["LuaIn", "SyncIn", "NativeIn"] {
        let path = h.path(&format!("{input}.log"));
        let out = wait_for(&format!("{input}'s 30,000 lines"), 120, || {
            names.extend(thread_names(h.child.id()));
            let out = std::fs::read_to_string(&path).ok()?;
            (out.len() >= log.len()).then_some(out)
        });
        // Every line, once, in the log's order.
        assert!(
            out == log,
            "{input} wrote the lines out of order or changed"
        );
    }
    names.sort();
    names.dedup();
    // One decode thread per core (at most 4), each used for the one busy log; none for the
    // input with `synchronous_decode`.
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    for k in 0..cores {
        for input in ["LuaIn", "NativeIn"] {
            let name: String = format!("{input}-dec{k}").chars().take(15).collect();
            assert!(names.contains(&name), "no thread {name} among {names:?}");
        }
    }
    assert!(
        !names.iter().any(|n| n.starts_with("SyncIn-dec")),
        "synchronous_decode still decoded on a decode thread: {names:?}"
    );
    assert!(h.stop().success(), "{}", h.stderr());
}
