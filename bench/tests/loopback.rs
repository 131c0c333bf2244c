//! End-to-end run of the harness on the loopback cases (no daemon needed).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn loopback_cases_produce_results_and_missing_hekad_is_skipped() {
    let dir: PathBuf = std::env::temp_dir().join(format!("heka-bench-it-{}", std::process::id()));
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_heka-bench"))
        .args(["run", "--count", "30000", "--cases", "a,a-lines,b"])
        .arg(format!("--out={}", out.display()))
        .arg(format!("--tmp={}", dir.display()))
        .status()
        .unwrap();
    assert!(status.success());

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["options"]["count"], 30000);
    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in &cases[..2] {
        let m = &case["median"];
        assert_eq!(m["messages"], 30000, "{case}");
        assert!(m["msgs_per_s"].as_f64().unwrap() > 0.0, "{case}");
        assert!(m["peak_rss_kb"].as_u64().unwrap() > 0, "{case}");
    }
    // Lines are 100 bytes; the marker is one 51-byte syslog line.
    assert_eq!(cases[1]["median"]["bytes"], 30000 * 100 + 51);
    assert!(cases[2]["median"].is_null());
    assert!(
        cases[2]["problem"]
            .as_str()
            .unwrap()
            .starts_with("skipped: no hekad"),
        "{}",
        cases[2]
    );
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| a-lines |"), "{md}");
    // Scratch directories are removed unless --keep is given.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("heka-bench-"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_file_read_limits_run_on_a_small_log_and_daemons_without_binaries_are_skipped() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("heka-bench-it-log-{}", std::process::id()));
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_heka-bench"))
        .args([
            "run",
            "--cases",
            "e-cat,e-lines,e-hekad,f-rsyslog",
            "--log-size",
            "2M",
            "--rsyslogd",
            "/nonexistent/rsyslogd",
        ])
        .arg(format!("--out={}", out.display()))
        .arg(format!("--tmp={}", dir.display()))
        .status()
        .unwrap();
    assert!(status.success());

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let log = &json["workloads"]["nginx_log"];
    let lines = log["lines"].as_u64().unwrap();
    let bytes = log["bytes"].as_u64().unwrap();
    assert!((2_000_000..2_001_000).contains(&bytes), "{log}");
    assert!((10_000..14_000).contains(&lines), "{log}");
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in &cases[..2] {
        let m = &case["median"];
        assert_eq!(m["messages"], lines, "{case}");
        assert_eq!(m["bytes"], bytes, "{case}");
        assert!(m["msgs_per_s"].as_f64().unwrap() > 0.0, "{case}");
        // readlines checks its count against the log's.
        assert!(m["note"].is_null(), "{case}");
    }
    assert!(cases[1]["pct_of_loopback"].as_f64().unwrap() > 0.0);
    for (case, why) in [
        (&cases[2], "skipped: no hekad"),
        (&cases[3], "skipped: /nonexistent"),
    ] {
        assert!(case["median"].is_null());
        assert!(case["problem"].as_str().unwrap().starts_with(why), "{case}");
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| e-lines |"), "{md}");
    assert!(md.contains("lines/CPU-s"), "{md}");
    assert!(!md.contains("msg/CPU-s"), "only the log-file table: {md}");
    std::fs::remove_dir_all(&dir).unwrap();
}
