//! Config loading as users meet it: `-test`, errors naming file/section/option, `%ENV[...]`,
//! a directory of files, `-version`.

use std::process::Command;

use crate::support::*;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const GOOD: &str = r#"
[TcpInput]
address = "127.0.0.1:5999"
[CounterFilter]
[LogOutput]
message_matcher = "Type == 'heka.counter-output'"
encoder = "PayloadEncoder"
[PayloadEncoder]
"#;

#[test]
fn test_flag_checks_a_good_config_and_exits_zero() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "ok.toml", GOOD);
    let (st, out, err) = run_hekad(&[&format!("-config={p}"), "-test"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Configuration OK"), "{out}");
    // Go-style separate value and double dash work too.
    let (st, _, err) = run_hekad(&["--config", &p, "--test"]);
    assert!(st.success(), "{err}");
}

#[test]
fn heka_section_names_with_colons_and_field_keys_with_bars_are_accepted() {
    // The shapes of Heka's own docs (config/index.rst, config/decoders/payload_regex.rst).
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "heka.toml",
        r#"
[tcp:5565]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "access:regex"

[access:regex]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Ip>\S+) "(?P<Url>[^"]*)" (?P<Size>\d+)$'
[access:regex.message_fields]
Type = "access"
Url|uri = "%Url%"
RequestSize|B = "%Size%"

[out:log]
type = "LogOutput"
message_matcher = "Type == 'access'"
encoder = "PayloadEncoder"
"#,
    );
    let (st, out, err) = run_hekad(&[&format!("-config={p}"), "-test"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Configuration OK"), "{out}");
    // An error after such a name points where the user wrote it.
    let p = write(
        d.path(),
        "bad.toml",
        "[tcp:5565]\ntype = \"TcpInput\"\nk|v = nope\n",
    );
    let (st, _, err) = run_hekad(&[&format!("-config={p}"), "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("column 7"), "{err}");
}

#[test]
fn test_flag_lists_the_plugins_it_would_run_and_q_prints_only_errors() {
    let d = tempfile::tempdir().unwrap();
    let good = write(
        d.path(),
        "good.toml",
        "[in]\ntype = \"TcpInput\"\naddress = \"127.0.0.1:0\"\n\
         [count]\ntype = \"CounterFilter\"\nmessage_matcher = \"Type == 'x'\"\n",
    );
    let (st, out, _) = run_hekad(&[&format!("-config={good}"), "-test"]);
    assert_eq!(st.code(), Some(0));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            r#"Input "in" type = "TcpInput""#,
            r#"Filter "count" type = "CounterFilter" message_matcher = "Type == 'x'""#,
            "Configuration OK",
        ]
    );
    let (st, out, err) = run_hekad(&[&format!("-config={good}"), "-test", "-q"]);
    assert_eq!(st.code(), Some(0), "{err}");
    assert_eq!(out, "");
    // Invalid: the errors, then the list; exit status 1; -q keeps only the errors.
    let bad = write(
        d.path(),
        "bad.toml",
        "[count]\ntype = \"CounterFilter\"\nmessage_matcher = \"Type ==\"\n",
    );
    let (st, out, err) = run_hekad(&[&format!("-config={bad}"), "-test"]);
    assert_eq!(st.code(), Some(1));
    assert!(err.contains("message_matcher"), "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [r#"Filter "count" type = "CounterFilter" message_matcher = "Type ==""#]
    );
    let (st, out, err) = run_hekad(&[&format!("-config={bad}"), "-test", "-q"]);
    assert_eq!(st.code(), Some(1));
    assert!(err.contains("message_matcher"), "{err}");
    assert_eq!(out, "");
}

#[test]
fn unknown_option_names_file_section_option_and_line() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "bad.toml",
        "[TcpInput]\naddress = \"127.0.0.1:5999\"\nadress_typo = 1\n",
    );
    let (st, _, err) = run_hekad(&["-config", &p, "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("TcpInput"), "{err}");
    assert!(err.contains("adress_typo"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn unknown_type_wrong_type_and_bad_matcher_are_errors() {
    let d = tempfile::tempdir().unwrap();
    // The FileOutput's own options are checked (its folder, not opening its file) before the
    // matcher.
    let out = d.path().join("out.log");
    let file_output = format!(
        "[FileOutput]\npath = \"{}\"\nencoder = \"PayloadEncoder\"\n",
        out.display()
    );
    for (text, want) in [
        (
            "[x]\ntype = \"NoSuchInput\"\n",
            "[x] type: No registered plugin type: NoSuchInput (line 2, column 8)",
        ),
        (
            "[x]\ntype = \"Whatever\"\n",
            "[x] type: unrecognized plugin category for type 'Whatever' (line 2, column 8)",
        ),
        (
            "[TcpInput]\naddress = 5\n",
            "[TcpInput] address: invalid type: integer `5`, expected a string (line 2, column 11)",
        ),
        (
            "[CounterFilter]\nmessage_matcher = \"Type = 'x'\"\n",
            "[CounterFilter] message_matcher: syntax error: last token: = pos: 5 \
             ('=' alone is not an operator) (line 2, column 19)",
        ),
        (
            file_output.as_str(),
            "[FileOutput] message_matcher: 'FileOutput' missing message matcher (line 1, column 2)",
        ),
    ] {
        let p = write(d.path(), "bad.toml", text);
        let (st, _, err) = run_hekad(&["-config", &p, "-test"]);
        assert_eq!(st.code(), Some(1), "{text}: {err}");
        let want = format!("{p}: {want}\n");
        assert!(err.contains(&want), "{text}: wanted {want:?} in {err}");
    }
}

#[test]
fn empty_config_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "empty.toml", "[hekad]\nmaxprocs = 2\n");
    let (st, _, err) = run_hekad(&["-config", &p]);
    assert_eq!(st.code(), Some(1));
    assert!(err.contains("Empty configuration"), "{err}");
}

#[test]
fn env_substitution_and_config_directories() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "10-input.toml",
        "[TcpInput]\naddress = \"%ENV[E2E_ADDR]\"\n",
    );
    write(
        d.path(),
        "20-output.toml",
        "[LogOutput]\nmessage_matcher = \"TRUE\"\nencoder = \"PayloadEncoder\"\n[PayloadEncoder]\n",
    );
    write(d.path(), "README.txt", "not toml [[[");
    let out = Command::new(env!("CARGO_BIN_EXE_hekad"))
        .arg(format!("-config={}", d.path().display()))
        .arg("-test")
        .env("E2E_ADDR", "127.0.0.1:5998")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without the variable the address is empty, which TcpInput must reject.
    let out = Command::new(env!("CARGO_BIN_EXE_hekad"))
        .arg(format!("-config={}", d.path().display()))
        .arg("-test")
        .env_remove("E2E_ADDR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version_flag() {
    let (st, out, _) = run_hekad(&["-version"]);
    assert!(st.success());
    assert_eq!(out.trim(), "0.11.0");
}

#[test]
fn an_output_without_its_required_encoder_is_a_config_error() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "noenc.toml",
        &format!(
            "[FileOutput]\nmessage_matcher = \"TRUE\"\npath = \"{}\"\n",
            d.path().join("x.log").display()
        ),
    );
    let (st, _, err) = run_hekad(&["-config", &p, "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(
        err.contains("[FileOutput] encoder: FileOutput requires an encoder"),
        "{err}"
    );
}

#[test]
fn every_example_config_builds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let out = Command::new(env!("CARGO_BIN_EXE_hekad"))
                .arg(format!("-config={}", p.display()))
                .arg("-test")
                .env("OPS_HMAC_KEY", "example key")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{}: {err}", p.display());
            n += 1;
        }
    }
    assert!(n >= 3, "found {n} examples");
}

#[test]
fn test_flag_takes_no_resource_and_passes_beside_a_running_hekad() {
    let d = tempfile::tempdir().unwrap();
    // A port held by someone else, as when the real hekad runs this config.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp_busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = d.path().join("logs/deep/out.log");
    let sock = d.path().join("in.sock");
    let p = write(
        d.path(),
        "run.toml",
        &format!(
            "[TcpInput]\naddress = \"{}\"\n\
             [UnixIn]\ntype = \"TcpInput\"\nnet = \"unix\"\naddress = \"{}\"\n\
             [UdpInput]\naddress = \"{}\"\n\
             [FileOutput]\nmessage_matcher = \"TRUE\"\npath = \"{}\"\nencoder = \"PayloadEncoder\"\n\
             [UdpOutput]\nmessage_matcher = \"TRUE\"\naddress = \"127.0.0.1:9\"\nencoder = \"PayloadEncoder\"\n\
             [PayloadEncoder]\n",
            busy.local_addr().unwrap(),
            sock.display(),
            udp_busy.local_addr().unwrap(),
            out.display()
        ),
    );
    let (st, out_text, err) = run_hekad(&[&format!("-config={p}"), "-test"]);
    assert!(st.success(), "{err}");
    assert!(out_text.contains("Configuration OK"), "{out_text}");
    // Nothing was created: no output folder, no socket file.
    assert!(!d.path().join("logs").exists());
    assert!(!sock.exists());

    // What -test still refuses: a name that does not resolve, a socket in a missing folder,
    // an output path below a file.
    let blocker = d.path().join("plain-file");
    std::fs::write(&blocker, "x").unwrap();
    for (text, want) in [
        (
            "[TcpInput]\naddress = \"no-such-host.invalid:5565\"\n".to_string(),
            "[TcpInput] address: can't resolve \"no-such-host.invalid:5565\"",
        ),
        (
            format!(
                "[TcpInput]\nnet = \"unix\"\naddress = \"{}/missing/s.sock\"\n",
                d.path().display()
            ),
            "no directory",
        ),
        (
            format!(
                "[FileOutput]\nmessage_matcher = \"TRUE\"\npath = \"{}/sub/out.log\"\n\
                 encoder = \"PayloadEncoder\"\n[PayloadEncoder]\n",
                blocker.display()
            ),
            "is not a folder",
        ),
    ] {
        let p = write(d.path(), "bad.toml", &text);
        let (st, _, err) = run_hekad(&[&format!("-config={p}"), "-test"]);
        assert_eq!(st.code(), Some(1), "{text}: {err}");
        assert!(err.contains(want), "{text}: wanted {want:?} in {err}");
    }
}

#[test]
fn plugins_without_options_in_heka_accept_and_ignore_any_option() {
    // Heka read these plugins' sections into a free-form map: users' configs carry options
    // that did nothing (`append_newlines` on RstEncoder, `encoding_name` on ProtobufDecoder).
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "anykey.toml",
        &format!(
            r#"
[TcpInput]
address = "127.0.0.1:0"
decoder = "ProtobufDecoder"
[ProtobufDecoder]
encoding_name = "PROTOCOL_BUFFER"
[stats]
type = "StatsToFieldsDecoder"
whatever = 1
[rst]
type = "RstEncoder"
append_newlines = false
[ProtobufEncoder]
Use_Framing = true
[FileOutput]
message_matcher = "TRUE"
path = "{}"
encoder = "rst"
"#,
            d.path().join("x.log").display()
        ),
    );
    let (st, _, err) = run_hekad(&["-config", &p, "-test"]);
    assert!(st.success(), "{err}");
    for (section, ty, key) in [
        ("ProtobufDecoder", "ProtobufDecoder", "encoding_name"),
        ("stats", "StatsToFieldsDecoder", "whatever"),
        ("rst", "RstEncoder", "append_newlines"),
        ("ProtobufEncoder", "ProtobufEncoder", "use_framing"),
    ] {
        let want = format!("[{section}] {key}: '{ty}' has no option '{key}': it is ignored");
        assert_eq!(err.matches(&want).count(), 1, "{want} once in:\n{err}");
    }
    // -q prints only errors: no warnings.
    let (st, out, err) = run_hekad(&["-config", &p, "-test", "-q"]);
    assert!(st.success(), "{err}");
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    // Plugins with options of their own still refuse what they don't know.
    let p = write(
        d.path(),
        "typo.toml",
        "[TcpInput]\naddress = \"127.0.0.1:0\"\n[PayloadEncoder]\nappend_newline = false\n",
    );
    let (st, _, err) = run_hekad(&["-config", &p, "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown config setting for 'PayloadEncoder'"),
        "{err}"
    );
}

#[test]
fn a_heka_0_9_config_runs_with_a_warning_per_translated_option() {
    use heka_message::signing::{HmacHash, SigningConfig};
    use std::io::Write;
    // Heka 0.9: inputs split their streams themselves (`parser_type`, `delimiter`, signers on
    // the input) and LogOutput needed no encoder.
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
log_flags = 0
[lines]
type = "TcpInput"
address = "127.0.0.1:0"
parser_type = "token"
delimiter = "|"
[records]
type = "TcpInput"
address = "127.0.0.1:0"
parser_type = "regexp"
delimiter = '(\d+):'
delimiter_location = "start"
[TCP:5565]
type = "TcpInput"
address = "127.0.0.1:0"
[TCP:5565.signer.ops_0]
hmac_key = "the key"
[LogOutput]
message_matcher = "Logger == 'lines' || Logger == 'records'"
payload_only = true
[trusted]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "ops"
path = "{dir}/trusted.log"
encoder = "ProtobufEncoder"
"#,
    );
    let send = |port: u16, data: &[u8]| {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(data).unwrap();
    };
    send(h.listening("lines"), b"alpha|beta|");
    send(h.listening("records"), b"1:one 2:two 3:");
    let signer = SigningConfig {
        name: "ops".into(),
        hash: HmacHash::Md5,
        key: b"the key".to_vec(),
        version: 0,
    };
    let signed = h.listening("TCP:5565");
    send(signed, &frame(&test_message(7), Some(&signer)));
    let got = wait_framed(&h.path("trusted.log"), 1);
    assert_eq!(got[0].payload_bytes(), b"message 7");
    // Token records keep their delimiter; regexp records with the delimiter at the start
    // begin with it; no ProtobufDecoder was put on the text inputs.
    wait_for("the payloads on stdout", 20, || {
        let out = h.stdout();
        ["alpha|", "beta|", "1:one ", "2:two "]
            .iter()
            .all(|p| out.lines().any(|l| l == *p))
            .then_some(())
    });
    let err = h.stderr();
    for (section, key, how) in [
        ("lines", "parser_type", "read as a TokenSplitter"),
        ("lines", "delimiter", "read as a TokenSplitter"),
        ("records", "delimiter_location", "read as a RegexSplitter"),
        ("TCP:5565", "signer", "read as a HekaFramingSplitter"),
    ] {
        let want = format!("[{section}] {key}: '{key}' is a Heka 0.9 option: {how}");
        assert_eq!(err.matches(&want).count(), 1, "{want} once in:\n{err}");
    }
    assert!(
        err.contains(
            "[records-splitter]\ntype = \"RegexSplitter\"\ndelimiter = '(\\d+):'\n\
             delimiter_eol = false"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "[LogOutput] encoder: LogOutput requires an encoder since Heka 0.10: using \
             PayloadEncoder"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "[LogOutput] payload_only: 'LogOutput' has no option 'payload_only': it is ignored \
             (as Heka did); Heka 0.6 replaced it with encoders: encoder = \"PayloadEncoder\""
        ),
        "{err}"
    );
    assert!(!err.contains("rror"), "{err}");
    assert!(h.stop().success());
}
