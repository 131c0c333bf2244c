//! Reading process and machine facts from `/proc`, and the two libc calls the harness needs.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

/// Clock ticks per second used by `/proc/PID/stat` times.
#[allow(unsafe_code)]
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value; it has no memory-safety requirements.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Sends `signal` to process `pid`; errors (e.g. the process is gone) are ignored.
#[allow(unsafe_code)]
pub(crate) fn send_signal(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers; the pid is one of our own child processes.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// utime + stime in clock ticks from the text of a `/proc/…/stat` file.
fn cpu_ticks(stat: &str) -> Result<u64> {
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| anyhow!("malformed stat line"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let get = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("stat line too short"))?
            .parse::<u64>()
            .context("bad cpu time in stat line")
    };
    Ok(get(11)? + get(12)?)
}

/// CPU seconds (user + system) used so far by process `pid`, all threads.
pub(crate) fn process_cpu_seconds(pid: u32) -> Result<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(cpu_ticks(&stat)? as f64 / clock_ticks())
}

/// CPU seconds used so far by the calling thread.
pub(crate) fn thread_cpu_seconds() -> Result<f64> {
    let stat = fs::read_to_string("/proc/thread-self/stat")?;
    Ok(cpu_ticks(&stat)? as f64 / clock_ticks())
}

/// A `kB` value (e.g. `VmRSS`, `VmHWM`) from the text of a `/proc/PID/status` file.
fn status_value_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        v.split_whitespace().next()?.parse().ok()
    })
}

/// `key` (e.g. `VmRSS`, `VmHWM`) of process `pid`, in kB; also any other numeric key
/// (`Threads`).
pub(crate) fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_value_kb(&status, key)
}

/// What [`wait_rusage`] found out about a finished child.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    /// Whether it exited with status 0.
    pub(crate) success: bool,
    /// Its user + system CPU seconds.
    pub(crate) cpu_s: f64,
}

/// Waits for child process `pid` to end and returns its resource use (wait4(2)). The child
/// is reaped: do not wait for it again through `std::process::Child`. (Its `ru_maxrss` is not
/// used: the kernel carries the spawning process's peak over the exec.)
#[allow(unsafe_code)]
pub(crate) fn wait_rusage(pid: u32) -> Result<Exit> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only to the two out-pointers, which point to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Exit {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
    })
}

/// Whether a `/proc/net/tcp` table shows a socket listening on 127.0.0.1 or 0.0.0.0:`port`.
fn table_has_listener(table: &str, port: u16) -> bool {
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        // Column 1 is the local address, column 3 the state (0A = LISTEN).
        cols.len() > 3 && cols[3] == "0A" && wanted.iter().any(|w| w == cols[1])
    })
}

/// Whether some process listens on TCP `port` on IPv4 loopback (checked without connecting).
pub(crate) fn is_listening(port: u16) -> bool {
    fs::read_to_string("/proc/net/tcp").is_ok_and(|t| table_has_listener(&t, port))
}

/// Facts about the machine for the results file.
pub(crate) fn machine() -> serde_json::Value {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    serde_json::json!({
        "hostname": hostname(),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "os": os,
        "cpu_model": cpu_model,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "mem_total_kb": status_value_kb(&read("/proc/meminfo"), "MemTotal"),
    })
}

/// The machine's host name.
pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// The UTC civil date (year, month 1–12, day 1–31) and the second of the day of an epoch
/// second.
pub(crate) fn utc_date_parts(secs: u64) -> ((i64, i64, i64), u64) {
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    ((year, month, day), sod)
}

/// Seconds since the epoch as a UTC (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`) pair.
fn utc_strings(secs: u64) -> (String, String) {
    let ((year, month, day), sod) = utc_date_parts(secs);
    let date = format!("{year:04}-{month:02}-{day:02}");
    let stamp = format!(
        "{date}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    (date, stamp)
}

/// Today's UTC date and the current UTC time stamp.
pub(crate) fn now_utc() -> (String, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc_strings(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skips_a_command_name_with_spaces_and_parens() {
        let stat = "1234 (we ird) name)) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(stat).unwrap(), 325);
        assert!(cpu_ticks("1234 no parens").is_err());
        assert!(cpu_ticks("1 (x) S 1").is_err());
    }

    #[test]
    fn own_process_has_cpu_time_and_rss() {
        let me = std::process::id();
        assert!(process_cpu_seconds(me).unwrap() >= 0.0);
        assert!(status_kb(me, "VmRSS").unwrap() > 0);
        assert!(status_kb(me, "VmHWM").unwrap() >= status_kb(me, "VmRSS").unwrap() / 2);
        assert_eq!(status_kb(me, "NoSuchKey"), None);
    }

    #[test]
    fn listener_table_matches_loopback_listen_sockets_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n\
   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000\n";
        assert!(table_has_listener(table, 0x1F90));
        assert!(!table_has_listener(table, 0x1F91));
        assert!(!table_has_listener(table, 80));
    }

    #[test]
    fn real_listener_is_seen() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(is_listening(port));
        drop(l);
        assert!(!is_listening(port));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(
            utc_strings(0),
            ("1970-01-01".into(), "1970-01-01T00:00:00Z".into())
        );
        assert_eq!(
            utc_strings(951_825_600 + 3661),
            ("2000-02-29".into(), "2000-02-29T13:01:01Z".into())
        );
        assert_eq!(utc_strings(1_767_225_599).0, "2025-12-31");
    }
}
