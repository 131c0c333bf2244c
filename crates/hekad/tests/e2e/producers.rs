//! Real log producers from Debian write the logs hekad reads: nginx and Apache answer real HTTP
//! requests made with curl and write their access logs, and rsyslog writes a syslog file from
//! datagrams sent by logger(1). LogstreamerInput tails each file through a rotation done the way
//! logrotate does it (rename, then tell the producer to reopen its log), and PayloadRegexDecoder
//! parses every line. Every request or log call must come out exactly once, in order, with the
//! fields the producer wrote.
//!
//! `scripts/setup.sh` installs nginx, apache2, rsyslog and curl; the producers run in the
//! foreground on a free loopback port with their config, logs and pid file in the test's tempdir.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use heka_message::{FieldValue, Message};

use crate::support::*;

/// A producer daemon started by the test; stopped with SIGTERM (so nginx and Apache stop their
/// workers too) and killed if it lingers.
pub(crate) struct Producer {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Producer {
    /// Starts `program` with `args` in the foreground; its stdout and stderr go to `log`.
    pub(crate) fn start(name: &'static str, program: &str, args: &[&str], dir: &Path) -> Producer {
        let path = which(program);
        let log = dir.join(format!("{name}.out"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(path)
            .args(args)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        Producer { name, child, log }
    }

    /// Sends `sig` to the daemon.
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {}", self.name);
    }

    /// Waits until the daemon accepts connections on `port`.
    pub(crate) fn wait_listening(&mut self, port: u16) {
        wait_for(&format!("{} to listen on {port}", self.name), 20, || {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "{} exited early ({st}):\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..250 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The full path of `program` (Debian puts daemons in /usr/sbin, which a user's PATH may lack).
pub(crate) fn which(program: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed: run scripts/setup.sh"))
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn string(m: &Message, name: &str) -> String {
    match m.field_value(name.as_bytes()) {
        Some(Some(FieldValue::String(s))) => String::from_utf8_lossy(s).into_owned(),
        other => panic!("field {name} is not a string: {other:?} in {m:?}"),
    }
}

/// Makes one GET request with curl.
pub(crate) fn curl(port: u16, path: &str, agent: &str, referer: Option<&str>) {
    let mut cmd = Command::new(which("curl"));
    cmd.args(["-s", "-o", "/dev/null", "-A", agent]);
    if let Some(r) = referer {
        cmd.args(["-e", r]);
    }
    let ok = cmd
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "curl {path}");
}

/// Renames `log` to `log.1`, as logrotate does, and has the producer reopen its log with
/// `signal`; returns once the producer has created a new `log`.
fn rotate(producer: &Producer, log: &Path, signal: &str) {
    let rotated = PathBuf::from(format!("{}.1", log.display()));
    std::fs::rename(log, &rotated).unwrap();
    producer.signal(signal);
    wait_for(
        &format!("{} to reopen {}", producer.name, log.display()),
        20,
        || log.exists().then_some(()),
    );
}

/// hekad tailing `access.log` (and `access.log.1` after rotation) in `logs`, parsing each line
/// as the `combined` log format nginx and Apache share, writing framed messages to `out`.
fn access_log_config(name: &str, logs: &Path, state: &Path) -> String {
    format!(
        r#"
[hekad]
base_dir = "{state}/base"

[{name}]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log(\.(?P<Seq>\d+))?'
priority = ["^Seq"]
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "combined"

[combined]
type = "PayloadRegexDecoder"
match_regex = '^(?P<RemoteAddr>\S+) \S+ (?P<RemoteUser>\S+) \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Path>\S+) (?P<Protocol>[^"]+)" (?P<Status>\d{{3}}) (?P<Bytes>\d+|-) "(?P<Referer>[^"]*)" "(?P<UserAgent>[^"]*)"'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"
[combined.message_fields]
Type = "access"
remote_addr = "%RemoteAddr%"
remote_user = "%RemoteUser%"
method = "%Method%"
path = "%Path%"
protocol = "%Protocol%"
status = "%Status%"
"bytes|B" = "%Bytes%"
referer = "%Referer%"
user_agent = "%UserAgent%"

[out]
type = "FileOutput"
message_matcher = "Type == 'access'"
path = "{state}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        logs = logs.display(),
        state = state.display()
    )
}

/// The requests the access-log tests make: request `i` asks for an existing page or a missing
/// one, with a user agent that names it and, for some, a referer.
fn request(i: usize) -> (String, String, Option<String>, &'static str) {
    let agent = format!("e2e-agent/{i} (real producer)");
    let referer = i
        .is_multiple_of(3)
        .then(|| format!("http://referer.example/page/{i}"));
    if i.is_multiple_of(4) {
        (format!("/missing/{i}?q={i}"), agent, referer, "404")
    } else {
        ("/index.html".to_string(), agent, referer, "200")
    }
}

/// Makes requests `range` against `port`.
fn make_requests(port: u16, range: std::ops::Range<usize>) {
    for i in range {
        let (path, agent, referer, _) = request(i);
        curl(port, &path, &agent, referer.as_deref());
    }
}

/// Checks that `got` holds exactly requests `0..n`, in order, with the fields the producer
/// logged and a timestamp between `started` and now (to the second).
fn check_access(got: &[Message], n: usize, logger: &str, started: i64) {
    assert_eq!(got.len(), n, "{got:#?}");
    let end = now_ns();
    for (i, m) in got.iter().enumerate() {
        let (path, agent, referer, status) = request(i);
        assert_eq!(m.logger_bytes(), logger.as_bytes(), "{m:?}");
        assert_eq!(string(m, "user_agent"), agent, "{m:?}");
        assert_eq!(string(m, "path"), path, "{m:?}");
        assert_eq!(string(m, "status"), status, "{m:?}");
        assert_eq!(string(m, "method"), "GET");
        assert_eq!(string(m, "protocol"), "HTTP/1.1");
        assert_eq!(string(m, "remote_addr"), "127.0.0.1");
        assert_eq!(string(m, "remote_user"), "-");
        assert_eq!(
            string(m, "referer"),
            referer.unwrap_or_else(|| "-".into()),
            "{m:?}"
        );
        let bytes: u64 = string(m, "bytes").parse().unwrap();
        assert!(bytes > 0, "{m:?}");
        // The log has whole seconds.
        let ts = m.timestamp;
        assert!(
            ts >= started - started % 1_000_000_000 && ts <= end,
            "timestamp {ts} not within the test ({started}..{end}): {m:?}"
        );
        assert_eq!(ts % 1_000_000_000, 0, "{m:?}");
    }
}

/// A tempdir with `logs/`, `state/` and a readable document root `html/index.html`.
pub(crate) fn site() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (logs, state, html) = (
        dir.path().join("logs"),
        dir.path().join("state"),
        dir.path().join("html"),
    );
    for d in [&logs, &state, &html] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(html.join("index.html"), "<html><body>hello</body></html>\n").unwrap();
    // The workers run as another user (www-data, nobody) when the test runs as root.
    for d in [dir.path(), &html] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (dir, logs, state, html)
}

/// Starts nginx in the foreground serving `html` on 127.0.0.1:`port`, with its prefix, pid and
/// temporary files in `dir`, its errors in `error_log` (at `error_level`, "" for nginx's
/// default), and `http` and `server` added to those blocks (the tests' `log_format` and
/// `access_log` lines, `location`s). Returns once it listens.
pub(crate) fn start_nginx(
    dir: &Path,
    port: u16,
    html: &Path,
    error_log: &Path,
    error_level: &str,
    http: &str,
    server: &str,
) -> Producer {
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {error} {error_level};
events {{ worker_connections 64; }}
http {{
    {http}
    client_body_temp_path {d}/tmp;
    proxy_temp_path {d}/tmp;
    fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp;
    scgi_temp_path {d}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {html};
        {server}
    }}
}}
"#,
            d = dir.display(),
            error = error_log.display(),
            html = html.display()
        ),
    )
    .unwrap();
    let prefix = dir.display().to_string();
    let conf_arg = conf.display().to_string();
    let error_arg = error_log.display().to_string();
    let mut nginx = Producer::start(
        "nginx",
        "nginx",
        &["-p", &prefix, "-e", &error_arg, "-c", &conf_arg],
        dir,
    );
    nginx.wait_listening(port);
    nginx
}

#[test]
fn nginx_access_log_through_rotation() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    let nginx = start_nginx(
        dir.path(),
        port,
        &html,
        &dir.path().join("nginx-error.log"),
        "",
        &format!("access_log {}/access.log combined;", logs.display()),
        "",
    );

    let started = now_ns();
    let mut h = Hekad::start(&access_log_config("nginx", &logs, &state));
    make_requests(port, 0..20);
    wait_framed(&state.join("out.log"), 10);
    // logrotate's nginx recipe: rename, then USR1 makes nginx reopen its logs.
    rotate(&nginx, &logs.join("access.log"), "USR1");
    make_requests(port, 20..40);

    let got = wait_framed(&state.join("out.log"), 40);
    // Nothing more arrives (no line read twice).
    std::thread::sleep(Duration::from_millis(500));
    let got_after = read_framed(&state.join("out.log"));
    assert_eq!(got_after.len(), got.len());
    check_access(&got, 40, "nginx", started);
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn apache_access_log_through_rotation() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    let conf = dir.path().join("apache2.conf");
    // Debian's `combined` LogFormat (apache2.conf), the modules a static site needs, and the
    // runtime files in the tempdir.
    std::fs::write(
        &conf,
        format!(
            r#"
ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/apache2.pid
DefaultRuntimeDir {d}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
User www-data
Group www-data
ErrorLog {d}/apache2-error.log
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{{Referer}}i\" \"%{{User-Agent}}i\"" combined
CustomLog {logs}/access.log combined
DocumentRoot {html}
<Directory {html}>
    Require all granted
</Directory>
"#,
            d = dir.path().display(),
            logs = logs.display(),
            html = html.display()
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let mut apache = Producer::start(
        "apache2",
        "apache2",
        &["-f", &conf_arg, "-DFOREGROUND"],
        dir.path(),
    );
    apache.wait_listening(port);

    let started = now_ns();
    let mut h = Hekad::start(&access_log_config("apache", &logs, &state));
    make_requests(port, 0..20);
    wait_framed(&state.join("out.log"), 10);
    // logrotate's apache2 recipe: rename, then a graceful restart (USR1) reopens the logs.
    rotate(&apache, &logs.join("access.log"), "USR1");
    apache.wait_listening(port);
    make_requests(port, 20..40);

    let got = wait_framed(&state.join("out.log"), 40);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read_framed(&state.join("out.log")).len(), got.len());
    check_access(&got, 40, "apache", started);
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn rsyslog_file_through_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, state, work) = (
        dir.path().join("logs"),
        dir.path().join("state"),
        dir.path().join("rsyslog"),
    );
    for d in [&logs, &state, &work] {
        std::fs::create_dir(d).unwrap();
    }
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let conf = dir.path().join("rsyslog.conf");
    // Only the user facility goes to the file, so rsyslog's own start-up messages stay out.
    std::fs::write(
        &conf,
        format!(
            r#"
global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}")
user.* action(type="omfile" file="{logs}/syslog" template="RSYSLOG_TraditionalFileFormat")
"#,
            work = work.display(),
            logs = logs.display()
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let pid_arg = dir.path().join("rsyslog.pid").display().to_string();
    let rsyslog = Producer::start(
        "rsyslogd",
        "rsyslogd",
        &["-n", "-f", &conf_arg, "-i", &pid_arg],
        dir.path(),
    );
    let syslog = logs.join("syslog");
    // logger(1) sends one RFC 3164 datagram per call.
    let send = |tag: &str, i: usize| {
        let ok = Command::new(which("logger"))
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-d",
                "--rfc3164",
            ])
            .args([
                "-t",
                tag,
                "-p",
                "user.notice",
                &format!("--id={}", 4000 + i),
            ])
            .arg(format!("request {i} done status=ok"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "logger {i}");
    };
    // rsyslog drops what arrives before it listens: probe (with another tag, which the
    // output's matcher leaves out) until the file appears.
    wait_for("rsyslog to write its file", 20, || {
        send("e2eprobe", 0);
        std::thread::sleep(Duration::from_millis(100));
        syslog.exists().then_some(())
    });

    let started = now_ns();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{state}/base"

[syslog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'syslog(\.(?P<Seq>\d+))?'
priority = ["^Seq"]
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "rfc3164"

[rfc3164]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Timestamp>[A-Z][a-z]{{2}} [ \d]\d \d\d:\d\d:\d\d) (?P<Host>\S+) (?P<Program>[^\[: ]+)(\[(?P<Pid>\d+)\])?: (?P<Message>.*)'
timestamp_layout = "Jan _2 15:04:05"
[rfc3164.message_fields]
Type = "syslog"
Hostname = "%Host%"
Pid = "%Pid%"
Payload = "%Message%"
programname = "%Program%"

[out]
type = "FileOutput"
message_matcher = "Type == 'syslog' && Fields[programname] == 'e2eapp'"
path = "{state}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        logs = logs.display(),
        state = state.display()
    ));
    for i in 1..=20 {
        send("e2eapp", i);
    }
    wait_framed(&state.join("out.log"), 10);
    // logrotate's rsyslog recipe: rename, then HUP makes rsyslog close and reopen its files.
    std::fs::rename(&syslog, logs.join("syslog.1")).unwrap();
    rsyslog.signal("HUP");
    for i in 21..=40 {
        send("e2eapp", i);
    }
    wait_for("rsyslog to write a new file", 20, || {
        syslog.exists().then_some(())
    });

    let got = wait_framed(&state.join("out.log"), 40);
    std::thread::sleep(Duration::from_millis(500));
    let got = {
        let again = read_framed(&state.join("out.log"));
        assert_eq!(again.len(), got.len(), "{again:#?}");
        again
    };
    let end = now_ns();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hostname = hostname.trim();
    assert_eq!(got.len(), 40, "{got:#?}");
    for (k, m) in got.iter().enumerate() {
        let i = k + 1;
        assert_eq!(m.logger_bytes(), b"syslog", "{m:?}");
        assert_eq!(
            m.payload_bytes(),
            format!("request {i} done status=ok").as_bytes(),
            "{m:?}"
        );
        assert_eq!(m.pid.unwrap_or_default(), 4000 + i as i32, "{m:?}");
        assert_eq!(string(m, "programname"), "e2eapp");
        // logger puts the short host name in the header; rsyslog keeps it.
        let host = String::from_utf8_lossy(m.hostname_bytes()).into_owned();
        assert!(
            hostname.starts_with(&host) && !host.is_empty(),
            "{host} vs {hostname}: {m:?}"
        );
        // RFC 3164 has no year: the decoder completes it, so the time is this very minute.
        let ts = m.timestamp;
        assert!(
            ts >= started - started % 1_000_000_000 - 1_000_000_000 && ts <= end,
            "timestamp {ts} not within the test ({started}..{end}): {m:?}"
        );
    }
    assert!(h.stop().success(), "{}", h.stderr());
}
