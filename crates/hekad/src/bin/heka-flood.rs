//! `heka-flood`: a load generator that sends framed protobuf messages to hekad as fast as it
//! can (Heka's `cmd/heka-flood`).
//!
//! ```text
//! heka-flood -config flood.toml -test default
//! ```
//!
//! The config file holds one table per test; `-test` picks one. Keys (all optional):
//!
//! ```toml
//! [default]
//! ip_address = "127.0.0.1:5565"   # host:port (or a socket path for unix/unixgram)
//! sender = "tcp"                  # tcp, udp, unix or unixgram
//! num_messages = 0                # 0 = until interrupted
//! message_interval = "10ms"       # pause between sends (Go duration)
//! static_message_size = 1000      # random payload bytes of fixed messages
//! variable_size_messages = true   # 64 messages of varying size and fields
//! ascii_only = false              # printable random payload bytes only
//! corrupt_percentage = 0.0001     # share of sends with one byte overwritten
//! signed_percentage = 0.00011     # share of sends that are signed
//! oversized_percentage = 0.00007  # share of sends over max_message_size (variable only)
//! max_message_size = 65536        # hekad's max_message_size
//! reconnect_on_error = false      # reconnect (every reconnect_interval s) instead of stopping
//! reconnect_interval = 5
//! encoder = "protobuf"
//! [default.signer]
//! name = "test"
//! hmac_hash = "md5"               # or sha1
//! hmac_key = "4865ey9urgkidls xtb0[7lf9rzcivthkm"
//! version = 0
//! ```
//!
//! As in Heka, the messages are generated once and the same bytes are resent, so UUIDs and
//! timestamps repeat. Once a second a line `Sent <n> messages. <r> msg/sec <m> Mbit/sec` goes
//! to stdout; SIGINT stops the run and a summary line is printed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use heka_client::{
    MessageBuilder, ProtobufEncoder, SenderOptions, TcpSender, UdpSender, local_hostname,
};
use heka_message::signing::{HmacHash, SigningConfig};
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Field, Message};
use hekad::cli::{FlagSpec, Flags, defaults};
use serde::Deserialize;

const SPEC: &[FlagSpec] = hekad::tools::HEKA_FLOOD.flags;

/// Number of distinct messages generated in variable-size mode.
const VARIABLE_MESSAGES: usize = 64;

/// One test section of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FloodTest {
    num_messages: u64,
    static_message_size: u64,
    ip_address: String,
    sender: String,
    pprof_file: String,
    encoder: String,
    message_interval: String,
    signer: SignerConfig,
    corrupt_percentage: f64,
    signed_percentage: f64,
    oversized_percentage: f64,
    variable_size_messages: bool,
    ascii_only: bool,
    use_tls: bool,
    max_message_size: u32,
    reconnect_on_error: bool,
    reconnect_interval: i32,
}

/// Heka's `MessageSigningConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignerConfig {
    name: String,
    hmac_hash: String,
    hmac_key: String,
    version: u32,
}

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit("heka-flood", SPEC);
    // Heka compat: cmd/heka-flood/main.go prints the defaults when no flag is given.
    if flags.count() == 0 {
        eprint!("{}", defaults(SPEC));
        return ExitCode::SUCCESS;
    }
    let config_file = flags.value("config").unwrap_or("flood.toml");
    let test_name = flags.value("test").unwrap_or("default");

    let config = match std::fs::read_to_string(config_file)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            toml::from_str::<HashMap<String, FloodTest>>(&text).map_err(|e| e.to_string())
        }) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("Error decoding config file: {err}");
            return ExitCode::SUCCESS;
        }
    };
    let Some(test) = config.get(test_name) else {
        eprintln!("Configuration test: '{test_name}' was not found");
        return ExitCode::SUCCESS;
    };
    match run(test) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn run(test: &FloodTest) -> Result<(), ExitCode> {
    let interval = if test.message_interval.is_empty() {
        Duration::ZERO
    } else {
        match parse_go_duration(&test.message_interval) {
            Ok(d) => d,
            Err(err) => {
                eprintln!(
                    "Invalid message_interval duration {}: {err}",
                    test.message_interval
                );
                return Err(ExitCode::SUCCESS);
            }
        }
    };
    if !test.pprof_file.is_empty() {
        eprintln!(
            "pprof_file '{}' ignored: CPU profiles are a Go feature",
            test.pprof_file
        );
    }
    if !matches!(test.encoder.as_str(), "" | "protobuf" | "ProtobufEncoder") {
        eprintln!(
            "encoder '{}' is not supported: heka-flood only sends protobuf",
            test.encoder
        );
        return Err(ExitCode::FAILURE);
    }
    if test.use_tls {
        eprintln!("Error creating sender: use_tls is not supported by this heka-flood");
        return Err(ExitCode::FAILURE);
    }
    let max_message_size = if test.max_message_size > 0 {
        test.max_message_size
    } else {
        DEFAULT_MAX_MESSAGE_SIZE
    };
    // Heka compat: cmd/heka-flood/main.go turns a reconnect_interval below 1 into 5 seconds.
    let reconnect_interval = Duration::from_secs(if test.reconnect_interval < 1 {
        5
    } else {
        test.reconnect_interval.unsigned_abs().into()
    });

    let stop = Arc::new(AtomicBool::new(false));
    if let Err(err) = signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone()) {
        eprintln!("can't install the SIGINT handler: {err}");
    }

    let mut sender = loop {
        match FloodSender::create(test, max_message_size) {
            Ok(sender) => break sender,
            Err(err) => {
                eprintln!("Error creating sender: {err}");
                if !test.reconnect_on_error || stop.load(Ordering::Relaxed) {
                    return Err(ExitCode::SUCCESS);
                }
                println!("Attempting to reconnect...");
                std::thread::sleep(reconnect_interval);
            }
        }
    };

    let mut rng = fastrand::Rng::new();
    let mut messages = generate(test, max_message_size, &mut rng);

    let sent = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    let reporter = {
        let (sent, bytes) = (sent.clone(), bytes.clone());
        std::thread::spawn(move || report_rates(&sent, &bytes, &done_rx))
    };

    let mut corrupt = Schedule::new(test.corrupt_percentage);
    let mut signed = Schedule::new(test.signed_percentage);
    let mut oversized = Schedule::new(test.oversized_percentage);
    let mut msgs_sent: u64 = 0;
    let mut delivered: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = rng.usize(..messages.unsigned.len().max(1));
        let corrupt_now = corrupt.fire(msgs_sent);
        let buf = if signed.fire(msgs_sent) {
            messages.signed.get_mut(id)
        } else if oversized.fire(msgs_sent) && messages.oversized.is_some() {
            messages.oversized.as_mut()
        } else {
            messages.unsigned.get_mut(id)
        };
        let Some(buf) = buf else {
            break;
        };
        bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        match send(&mut sender, buf, corrupt_now, &mut rng) {
            Ok(()) => delivered += 1,
            Err(err) => {
                eprintln!("Error sending message: {err}");
                if !test.reconnect_on_error {
                    break;
                }
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    println!("Attempting to reconnect...");
                    std::thread::sleep(reconnect_interval);
                    match FloodSender::create(test, max_message_size) {
                        Ok(s) => {
                            sender = s;
                            break;
                        }
                        Err(err) => eprintln!("Error creating sender: {err}"),
                    }
                }
            }
        }
        msgs_sent += 1;
        sent.store(msgs_sent, Ordering::Relaxed);
        if test.num_messages != 0 && msgs_sent >= test.num_messages {
            break;
        }
        if !interval.is_zero() {
            std::thread::sleep(interval);
        }
    }
    drop(sender);
    drop(done_tx);
    let _ = reporter.join();
    // Heka compat: Go's Println puts a space between operands, hence the double spaces.
    println!("Clean shutdown:  {msgs_sent}  messages sent;  {delivered}  messages delivered.");
    Ok(())
}

/// Prints the send rate once a second until `done` is closed.
fn report_rates(sent: &AtomicU64, bytes: &AtomicU64, done: &crossbeam_channel::Receiver<()>) {
    let mut last_time = Instant::now();
    let mut last_count = sent.load(Ordering::Relaxed);
    let mut last_bytes = bytes.load(Ordering::Relaxed);
    let mut idle_lines = 0u8;
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
        done.recv_timeout(Duration::from_secs(1))
    {
        let now = Instant::now();
        let count = sent.load(Ordering::Relaxed);
        let total_bytes = bytes.load(Ordering::Relaxed);
        let elapsed = now.duration_since(last_time).as_secs_f64();
        let msgs = count - last_count;
        let sent_bytes = total_bytes - last_bytes;
        (last_time, last_count, last_bytes) = (now, count, total_bytes);
        // Heka compat: cmd/heka-flood/main.go stays quiet while idle, after at most three
        // idle lines.
        if msgs == 0 {
            if count == 0 || idle_lines == 3 {
                continue;
            }
            idle_lines += 1;
        } else {
            idle_lines = 0;
        }
        let rate = msgs as f64 / elapsed;
        let mbit = (sent_bytes * 8) as f64 / 1e6 / elapsed;
        println!("Sent {count} messages. {rate:.2} msg/sec {mbit:.2} Mbit/sec");
    }
}

/// Decides which sends get a treatment (corruption, signing, oversizing): the send whose
/// running count makes `floor(sent × percentage / 100)` change.
#[derive(Debug)]
struct Schedule {
    fraction: f64,
    last: f64,
}

impl Schedule {
    fn new(percentage: f64) -> Schedule {
        Schedule {
            fraction: percentage / 100.0,
            last: 0.0,
        }
    }

    fn fire(&mut self, sent: u64) -> bool {
        let now = (sent as f64 * self.fraction).floor();
        if now != self.last {
            self.last = now;
            true
        } else {
            false
        }
    }
}

/// The pre-encoded records a test sends.
#[derive(Debug)]
struct Messages {
    unsigned: Vec<Vec<u8>>,
    signed: Vec<Vec<u8>>,
    oversized: Option<Vec<u8>>,
}

fn generate(test: &FloodTest, max_message_size: u32, rng: &mut fastrand::Rng) -> Messages {
    let signer = SigningConfig {
        name: test.signer.name.clone(),
        hash: HmacHash::from_name(&test.signer.hmac_hash),
        key: test.signer.hmac_key.clone().into_bytes(),
        version: test.signer.version,
    };
    let mut unsigned_enc = ProtobufEncoder::new(None).with_max_message_size(max_message_size);
    let mut signed_enc = ProtobufEncoder::new(Some(signer)).with_max_message_size(max_message_size);
    let hostname = local_hostname();
    let ascii = test.ascii_only;
    let encode = |enc: &mut ProtobufEncoder, msg: &Message| {
        let mut out = Vec::new();
        // Heka compat: cmd/heka-flood/main.go logs an encoding error and sends an empty
        // record in its place.
        if let Err(err) = enc.encode(msg, &mut out) {
            eprintln!("{err}");
        }
        out
    };
    if test.variable_size_messages {
        let make = |enc: &mut ProtobufEncoder, rng: &mut fastrand::Rng| {
            (0..VARIABLE_MESSAGES)
                .map(|_| {
                    let msg = variable_message(&hostname, 0, ascii, rng);
                    encode(enc, &msg)
                })
                .collect::<Vec<_>>()
        };
        let unsigned = make(&mut unsigned_enc, rng);
        let signed = make(&mut signed_enc, rng);
        // The oversized record is framed without the size check, as Heka's OversizedEncoder.
        let big = variable_message(&hostname, max_message_size as usize, ascii, rng);
        let mut oversized = Vec::new();
        let mut unchecked = ProtobufEncoder::new(None).with_max_message_size(u32::MAX);
        if let Err(err) = unchecked.encode(&big, &mut oversized) {
            eprintln!("{err}");
        }
        Messages {
            unsigned,
            signed,
            oversized: Some(oversized),
        }
    } else {
        let size = if test.static_message_size == 0 {
            1000
        } else {
            test.static_message_size as usize
        };
        let unsigned = fixed_message(&hostname, size, ascii, rng);
        let signed = fixed_message(&hostname, size, ascii, rng);
        Messages {
            unsigned: vec![encode(&mut unsigned_enc, &unsigned)],
            signed: vec![encode(&mut signed_enc, &signed)],
            // Deliberate difference: Heka indexes an empty list here and crashes when
            // oversized_percentage is set without variable_size_messages.
            oversized: None,
        }
    }
}

/// `hekabench: <hostname> - <size random bytes>`.
fn payload(hostname: &str, size: usize, ascii_only: bool, rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = format!("hekabench: {hostname} - ").into_bytes();
    out.extend((0..size).map(|_| {
        let b = rng.u8(..);
        if ascii_only { b % 94 + 32 } else { b }
    }));
    out
}

fn own_pid() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(0)
}

fn fixed_message(
    hostname: &str,
    size: usize,
    ascii_only: bool,
    rng: &mut fastrand::Rng,
) -> Message {
    MessageBuilder::new()
        .message_type("hekabench")
        .severity(6)
        .env_version("0.8")
        .pid(own_pid())
        .hostname(hostname.to_owned())
        .payload(payload(hostname, size, ascii_only, rng))
        .build()
}

/// A message of random size and field count; `extra` bytes are added to the payload (used to
/// make the oversized message).
fn variable_message(
    hostname: &str,
    extra: usize,
    ascii_only: bool,
    rng: &mut fastrand::Rng,
) -> Message {
    let size = rng.usize(..3) * 1024 + extra;
    let mut b = MessageBuilder::new()
        .message_type("hekabench")
        .logger("flood")
        .env_version("0.2")
        .pid(own_pid())
        .hostname(hostname.to_owned())
        .payload(payload(hostname, size, ascii_only, rng));
    for i in 0..rng.usize(..5) {
        b = b.string_field(format!("string{i}"), format!("value{i}"));
    }
    for i in 0..rng.usize(..5) {
        b = b.bytes_field(format!("bytes{i}"), vec![i as u8; 8]);
    }
    for i in 0..rng.usize(..5) {
        b = b.integer_field(format!("int{i}"), i as i64);
    }
    for i in 0..rng.usize(..5) {
        b = b.double_field(format!("double{i}"), i as f64);
    }
    for i in 0..rng.usize(..5) {
        b = b.bool_field(format!("bool{i}"), true);
    }
    let filler = vec![0u8; rng.usize(..60) * 1024];
    b.add_field(Field::new_bytes("filler", filler)).build()
}

/// A connected TCP/Unix-stream or UDP/Unix-datagram sender.
enum FloodSender {
    Stream(TcpSender),
    Datagram(UdpSender),
}

impl FloodSender {
    fn create(test: &FloodTest, max_message_size: u32) -> Result<FloodSender, String> {
        let options = SenderOptions {
            max_message_size,
            // Heka sends each record with its own write and handles reconnecting itself.
            buffer_size: 0,
            reconnect_attempts: 0,
            ..SenderOptions::default()
        };
        let addr = test.ip_address.as_str();
        let sender = match test.sender.as_str() {
            "tcp" | "tcp4" | "tcp6" => TcpSender::connect_with(addr, options).map(Self::Stream),
            "udp" | "udp4" | "udp6" => UdpSender::connect_with(addr, options).map(Self::Datagram),
            #[cfg(unix)]
            "unix" => TcpSender::connect_unix_with(addr, options).map(Self::Stream),
            #[cfg(unix)]
            "unixgram" => UdpSender::connect_unix_with(addr, options).map(Self::Datagram),
            other => return Err(format!("dial {other}: unknown network {other}")),
        };
        sender.map_err(|e| e.to_string())
    }

    fn send_raw(&mut self, bytes: &[u8]) -> Result<(), heka_client::Error> {
        match self {
            FloodSender::Stream(s) => s.send_raw(bytes),
            FloodSender::Datagram(s) => s.send_raw(bytes),
        }
    }
}

/// Sends `buf`, with one random byte overwritten when `corrupt` (restored afterwards).
fn send(
    sender: &mut FloodSender,
    buf: &mut [u8],
    corrupt: bool,
    rng: &mut fastrand::Rng,
) -> Result<(), heka_client::Error> {
    if corrupt && !buf.is_empty() {
        let index = rng.usize(..buf.len());
        let original = buf[index];
        buf[index] = rng.u8(..);
        let result = sender.send_raw(buf);
        buf[index] = original;
        result
    } else {
        sender.send_raw(buf)
    }
}

/// Parses a Go duration string (`"300ms"`, `"1.5h"`, `"2h45m"`); negative values become zero.
fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        total_ns += value * scale;
    }
    if total_ns > i64::MAX as f64 {
        return Err(invalid());
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_nanos(total_ns as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::framing::scan;
    use heka_message::signing::{SignerKeys, Verification};

    #[test]
    fn go_durations() {
        let ok = |s: &str| parse_go_duration(s).unwrap();
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("10ms"), Duration::from_millis(10));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2h45m"), Duration::from_secs(2 * 3600 + 45 * 60));
        assert_eq!(ok("3us"), Duration::from_micros(3));
        assert_eq!(ok("3µs"), Duration::from_micros(3));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("+1m"), Duration::from_secs(60));
        assert_eq!(ok("-1s"), Duration::ZERO);
        assert_eq!(
            parse_go_duration("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse_go_duration("10x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"10x\""
        );
        for bad in ["", "ms", "1..2s", ".s", "-"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn schedule_fires_when_the_floor_changes() {
        let mut s = Schedule::new(25.0);
        let fired: Vec<u64> = (0..20).filter(|&n| s.fire(n)).collect();
        assert_eq!(fired, vec![4, 8, 12, 16]);
        let mut never = Schedule::new(0.0);
        assert!((0..1000).all(|n| !never.fire(n)));
        let mut always = Schedule::new(100.0);
        let fired: Vec<u64> = (0..5).filter(|&n| always.fire(n)).collect();
        assert_eq!(fired, vec![1, 2, 3, 4]);
    }

    fn decode(record: &[u8], max: u32) -> (Message, heka_message::framing::Header) {
        let found = scan(record, max);
        assert_eq!(found.consumed, record.len());
        let frame = found.frame.unwrap();
        (
            Message::decode_slice(&record[frame.message]).unwrap(),
            frame.header,
        )
    }

    #[test]
    fn fixed_messages() {
        let test = FloodTest {
            static_message_size: 50,
            ascii_only: true,
            signer: SignerConfig {
                name: "test".into(),
                hmac_hash: "sha1".into(),
                hmac_key: "key".into(),
                version: 3,
            },
            ..FloodTest::default()
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let m = generate(&test, DEFAULT_MAX_MESSAGE_SIZE, &mut rng);
        assert_eq!((m.unsigned.len(), m.signed.len()), (1, 1));
        assert!(m.oversized.is_none());
        let (msg, header) = decode(&m.unsigned[0], DEFAULT_MAX_MESSAGE_SIZE);
        assert!(header.hmac.is_none());
        assert_eq!(msg.type_bytes(), b"hekabench");
        assert_eq!(msg.severity, Some(6));
        assert_eq!(msg.env_version_bytes(), b"0.8");
        assert_eq!(msg.pid, Some(own_pid()));
        let prefix = format!("hekabench: {} - ", local_hostname());
        let payload = msg.payload_bytes();
        assert!(payload.starts_with(prefix.as_bytes()));
        assert_eq!(payload.len(), prefix.len() + 50);
        assert!(
            payload[prefix.len()..]
                .iter()
                .all(|b| (32..=125).contains(b))
        );
        let (signed, header) = decode(&m.signed[0], DEFAULT_MAX_MESSAGE_SIZE);
        let mut keys = SignerKeys::default();
        keys.insert("test_3", b"key".to_vec());
        assert_eq!(
            keys.verify(&header, &signed.to_bytes()),
            Verification::Signed("test".into())
        );
    }

    #[test]
    fn variable_messages() {
        let test = FloodTest {
            variable_size_messages: true,
            ..FloodTest::default()
        };
        let max = 1 << 20;
        let mut rng = fastrand::Rng::with_seed(7);
        let m = generate(&test, max, &mut rng);
        assert_eq!(m.unsigned.len(), VARIABLE_MESSAGES);
        assert_eq!(m.signed.len(), VARIABLE_MESSAGES);
        let mut sizes = std::collections::HashSet::new();
        for record in &m.unsigned {
            let (msg, _) = decode(record, max);
            assert_eq!(msg.logger_bytes(), b"flood");
            assert_eq!(msg.env_version_bytes(), b"0.2");
            let filler = msg.find_first_field(b"filler").unwrap();
            assert_eq!(filler.value_bytes[0].len() % 1024, 0);
            assert!(filler.value_bytes[0].iter().all(|&b| b == 0));
            for f in &msg.fields {
                if f.name.starts_with(b"int") {
                    let n: i64 = std::str::from_utf8(&f.name[3..]).unwrap().parse().unwrap();
                    assert_eq!(f.value_integer, vec![n]);
                }
            }
            sizes.insert(record.len());
        }
        assert!(sizes.len() > 1, "sizes vary");
        let oversized = m.oversized.unwrap();
        let (big, _) = decode(&oversized, u32::MAX);
        assert!(big.payload_bytes().len() > max as usize);
    }

    #[test]
    fn variable_messages_over_the_limit_become_empty_records() {
        let test = FloodTest {
            variable_size_messages: true,
            ..FloodTest::default()
        };
        let mut rng = fastrand::Rng::with_seed(3);
        let m = generate(&test, 2048, &mut rng);
        // The filler alone usually exceeds 2 KiB; such records are empty.
        assert!(m.unsigned.iter().any(Vec::is_empty));
        assert!(
            m.unsigned
                .iter()
                .filter(|r| !r.is_empty())
                .all(|r| scan(r, 2048).frame.is_some())
        );
    }
}
