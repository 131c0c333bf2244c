//! Reliability: one hekad per `base_dir`.

use crate::support::*;

/// A TcpInput-only config whose state lives in `base_dir`.
fn config(base_dir: &str) -> String {
    format!(
        r#"
[hekad]
base_dir = "{base_dir}"
[TcpInput]
address = "127.0.0.1:0"
"#
    )
}

#[test]
fn a_second_hekad_on_the_same_base_dir_refuses_to_start() {
    let mut first = Hekad::start(&config("{dir}/cache"));
    first.listening("TcpInput");
    let base_dir = first.path("cache");
    let lock = std::fs::read_to_string(base_dir.join("hekad.lock")).unwrap();
    assert_eq!(lock, first.child.id().to_string());

    let mut second = Hekad::start(&config(&base_dir.display().to_string()));
    let status = second.wait_exit(20);
    assert_eq!(status.code(), Some(1));
    let err = second.stderr();
    assert!(
        err.contains(&format!("base_dir {} is in use", base_dir.display()))
            && err.contains(&format!("(pid {})", first.child.id())),
        "{err}"
    );
    // It touched nothing: the first one's pid is still in the lock file.
    let lock = std::fs::read_to_string(base_dir.join("hekad.lock")).unwrap();
    assert_eq!(lock, first.child.id().to_string());

    // Once the first is gone (even killed), the directory is free again.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    second.restart();
    second.listening("TcpInput");
    assert!(second.child.try_wait().unwrap().is_none());
    assert_eq!(second.stop().code(), Some(0));
}
