//! A deterministic nginx `combined` access log for the log-file cases (e, f):
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//! ```
//!
//! Every field varies (IPv4 addresses, users, paths with ids and query strings, methods,
//! protocols, statuses, sizes, referers, user agents from curl to full browser strings); lines
//! average about 170 bytes, the size of peers.md W2's log (2 M lines, ~344 MB). The same seed
//! gives the same bytes on every run and machine.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// 2026-12-01T00:00:00Z, the time of the first line.
const START_EPOCH: u64 = 1_796_083_200;
/// Lines per second of log time (the site's traffic).
const LINES_PER_SECOND: u64 = 2_000;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const WORDS: [&str; 16] = [
    "shoes", "red", "garden", "chair", "laptop", "bag", "winter", "coat", "lamp", "desk", "phone",
    "case", "book", "tea", "mug", "socks",
];
/// User agents with weights (out of 100): browsers, crawlers, tools and probes.
const AGENTS: [(u32, &str); 12] = [
    (
        16,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    ),
    (
        8,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    ),
    (
        6,
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    ),
    (
        4,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
    (
        3,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    ),
    (10, "curl/7.88.1"),
    (12, "Go-http-client/1.1"),
    (10, "python-requests/2.31.0"),
    (10, "kube-probe/1.28"),
    (8, "Prometheus/2.48.0"),
    (8, "okhttp/4.12.0"),
    (5, "Wget/1.21.3"),
];
const REFERERS: [&str; 5] = [
    "https://www.example.com/",
    "https://www.google.com/",
    "https://shop.example.org/cart",
    "https://www.example.com/search?q=winter+coat",
    "https://news.example.net/articles/2026/11/best-lamps",
];

/// splitmix64: small, fast and good enough to vary fields.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Picks from `weights` (summing to 100): the index of the chosen weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let mut r = self.below(100) as u32;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// Writes nginx `combined` lines one after another; line `i` gets the time of line `i`.
#[derive(Debug)]
pub(crate) struct Generator {
    rng: Rng,
    line: u64,
    /// `$time_local` of the second `cached_second`.
    cached_time: String,
    cached_second: u64,
}

impl Default for Generator {
    fn default() -> Self {
        Generator::new(0x6865_6b61)
    }
}

impl Generator {
    pub(crate) fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            line: 0,
            cached_time: String::new(),
            cached_second: u64::MAX,
        }
    }

    /// Appends the next line, `\n` included, to `out`.
    pub(crate) fn push_line(&mut self, out: &mut Vec<u8>) {
        let second = START_EPOCH + self.line / LINES_PER_SECOND;
        self.line += 1;
        if second != self.cached_second {
            self.cached_second = second;
            self.cached_time = time_local(second);
        }
        let r = &mut self.rng;
        // $remote_addr: a pool of 4,096 frequent clients and a random tail.
        let ip = if r.below(4) < 3 {
            let k = r.below(4096);
            [
                (k * 7 % 200 + 23) as u8,
                (k * 13 % 256) as u8,
                (k >> 4) as u8,
                (k * 31 % 254 + 1) as u8,
            ]
        } else {
            let v = r.next();
            [
                (v % 200 + 23) as u8,
                (v >> 8) as u8,
                (v >> 16) as u8,
                ((v >> 24) % 254 + 1) as u8,
            ]
        };
        let user = if r.below(20) == 0 {
            USERS[r.below(USERS.len() as u64) as usize]
        } else {
            "-"
        };
        let method = ["GET", "POST", "HEAD", "PUT", "DELETE"][r.weighted(&[85, 8, 4, 2, 1])];
        let proto = ["HTTP/1.1", "HTTP/2.0", "HTTP/1.0"][r.weighted(&[70, 25, 5])];
        let (status, bytes) = match r.weighted(&[78, 7, 5, 3, 2, 2, 1, 1, 1]) {
            0 => (200, r.below(48_000) + 20),
            1 => (304, 0),
            2 => (404, 153),
            3 => (301, 169),
            4 => (302, 145),
            5 => (206, r.below(1_000_000)),
            6 => (400, 157),
            7 => (403, 153),
            _ => ([500, 502, 503][r.below(3) as usize], 497),
        };
        let referer = if r.below(100) < 45 {
            "-"
        } else {
            REFERERS[r.below(REFERERS.len() as u64) as usize]
        };
        let agent = AGENTS[r.weighted(&AGENTS.map(|a| a.0))].1;
        let _ = write!(
            out,
            "{}.{}.{}.{} - {user} [{}] \"{method} ",
            ip[0], ip[1], ip[2], ip[3], self.cached_time
        );
        push_path(r, out);
        let _ = writeln!(out, " {proto}\" {status} {bytes} \"{referer}\" \"{agent}\"");
    }
}

/// A request path: pages, API calls with ids, static assets, searches.
fn push_path(r: &mut Rng, out: &mut Vec<u8>) {
    let _ = match r.weighted(&[6, 4, 18, 10, 14, 8, 12, 8, 6, 4, 4, 6]) {
        0 => write!(out, "/"),
        1 => write!(out, "/index.html"),
        2 => write!(out, "/api/v1/users/{}", r.below(100_000)),
        3 => write!(
            out,
            "/api/v1/orders/{}/items?page={}",
            r.below(1_000_000),
            r.below(20) + 1
        ),
        4 => write!(out, "/static/js/app.{:08x}.js", r.below(1 << 32)),
        5 => write!(out, "/static/css/main.{:08x}.css", r.below(1 << 32)),
        6 => write!(
            out,
            "/images/products/{}-{}x{}.jpg",
            r.below(50_000),
            [320, 640, 1280][r.below(3) as usize],
            [240, 480, 960][r.below(3) as usize]
        ),
        7 => write!(
            out,
            "/search?q={}+{}&page={}",
            WORDS[r.below(16) as usize],
            WORDS[r.below(16) as usize],
            r.below(5) + 1
        ),
        8 => write!(
            out,
            "/blog/2026/{:02}/{}-{}-{}",
            r.below(12) + 1,
            WORDS[r.below(16) as usize],
            WORDS[r.below(16) as usize],
            WORDS[r.below(16) as usize]
        ),
        9 => write!(out, "/favicon.ico"),
        10 => write!(out, "/robots.txt"),
        _ => write!(out, "/healthz"),
    };
}

/// `$time_local` (`01/Dec/2026:00:00:00 +0000`) of a UTC epoch second.
fn time_local(secs: u64) -> String {
    let (date, _) = crate::procfs::utc_date_parts(secs);
    let (y, m, d) = date;
    let sod = secs % 86_400;
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A generated log file.
#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    /// Where it is.
    pub(crate) path: std::path::PathBuf,
    /// Lines in it.
    pub(crate) lines: u64,
    /// Its size.
    pub(crate) bytes: u64,
}

/// Writes whole lines to `path` until the file holds at least `size` bytes.
pub(crate) fn write_log(path: &Path, size: u64) -> Result<LogFile> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut g = Generator::default();
    let mut buf = Vec::with_capacity(1 << 20);
    let (mut lines, mut bytes) = (0u64, 0u64);
    while bytes < size {
        buf.clear();
        while buf.len() < (1 << 20) - 1024 && bytes + (buf.len() as u64) < size {
            g.push_line(&mut buf);
            lines += 1;
        }
        w.write_all(&buf)?;
        bytes += buf.len() as u64;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(LogFile {
        path: path.to_path_buf(),
        lines,
        bytes,
    })
}

/// `n` consecutive lines in one buffer, with the end offset of each line.
pub(crate) fn lines_chunk(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut g = Generator::default();
    let mut buf = Vec::with_capacity(n * 180);
    let mut ends = Vec::with_capacity(n);
    for _ in 0..n {
        g.push_line(&mut buf);
        ends.push(buf.len());
    }
    (buf, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> Vec<String> {
        let (buf, _) = lines_chunk(n);
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn lines_are_deterministic_varied_and_about_170_bytes() {
        let a = lines(20_000);
        assert_eq!(a, lines(20_000));
        let bytes: usize = a.iter().map(|l| l.len() + 1).sum();
        let avg = bytes as f64 / a.len() as f64;
        assert!((160.0..=180.0).contains(&avg), "average line {avg:.1} B");
        let distinct = |f: &dyn Fn(&str) -> &str| {
            a.iter()
                .map(|l| f(l))
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert!(distinct(&|l| l.split(' ').next().unwrap()) > 2_000, "IPs");
        assert!(
            distinct(&|l| l.split('"').nth(1).unwrap()) > 10_000,
            "requests"
        );
        assert!(
            distinct(&|l| l.split('"').nth(5).unwrap()) == AGENTS.len(),
            "agents"
        );
        assert!(distinct(&|l| l.split('"').nth(2).unwrap().split(' ').nth(1).unwrap()) >= 8);
    }

    #[test]
    fn every_line_has_the_combined_format() {
        for l in lines(5_000) {
            // client - user [time] "method path proto" status bytes "referer" "agent"
            let q: Vec<&str> = l.split('"').collect();
            assert_eq!(q.len(), 7, "{l}");
            let head: Vec<&str> = q[0].split(' ').collect();
            assert_eq!(head.len(), 6, "{l}");
            assert_eq!(head[0].split('.').count(), 4, "{l}");
            assert!(head[0].split('.').all(|o| o.parse::<u8>().is_ok()), "{l}");
            assert_eq!(head[1], "-");
            assert!(head[3].starts_with("[01/Dec/2026:00:00:"), "{l}");
            assert_eq!(head[4], "+0000]");
            assert_eq!(q[1].split(' ').count(), 3, "{l}");
            let mid: Vec<&str> = q[2].trim().split(' ').collect();
            assert_eq!(mid.len(), 2, "{l}");
            assert!(mid.iter().all(|n| n.parse::<u64>().is_ok()), "{l}");
            assert!(!q[3].is_empty() && !q[5].is_empty(), "{l}");
            assert_eq!(q[6], "");
        }
    }

    #[test]
    fn time_local_formats_nginx_time() {
        assert_eq!(time_local(START_EPOCH), "01/Dec/2026:00:00:00 +0000");
        assert_eq!(
            time_local(START_EPOCH + 86_400 * 31 + 3_723),
            "01/Jan/2027:01:02:03 +0000"
        );
    }

    #[test]
    fn write_log_stops_after_the_size_on_a_line_end() {
        let dir = std::env::temp_dir().join(format!("heka-bench-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = write_log(&dir.join("access.log"), 100_000).unwrap();
        let text = std::fs::read(&f.path).unwrap();
        assert_eq!(text.len() as u64, f.bytes);
        assert!(f.bytes >= 100_000 && f.bytes < 101_000);
        assert_eq!(text.iter().filter(|&&b| b == b'\n').count() as u64, f.lines);
        assert_eq!(text.last(), Some(&b'\n'));
        let (chunk, ends) = lines_chunk(f.lines as usize);
        assert_eq!(chunk, text);
        assert_eq!(*ends.last().unwrap(), text.len());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
