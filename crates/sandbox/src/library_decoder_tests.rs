//! Tests of the library's remaining decoders (`share/heka/lua_decoders/`: nginx_error,
//! nginx_stub_status, mysql/mariadb slow query, linux_*, graylog_extended, bind_query_log,
//! json) and the modules they use (`mysql`, `bind`, `util`, `common_log_format`'s
//! `nginx_error_grammar`), run as a SandboxDecoder runs them. Sample lines come from Heka's
//! and lua_sandbox's tests (as noted) or were written by the real programs (nginx, MariaDB
//! 10.11, BIND 9.18, Linux 6.x /proc files) on the machine these tests were written on.

use heka_message::{Field, Message, ValueType};
use heka_pipeline::pack::Pack;

use crate::library_tests::{decode, field, injected, lua_checks, settings, share_dir};
use crate::{InjectBudget, Injection, Kind, Outcome, Sandbox};

/// Decodes `payload` (with the input fields `fields`) with the library's `decoder`.
fn decode_with(decoder: &str, config: &str, payload: &str, fields: Vec<Field>) -> Outcome {
    let script = share_dir().join("lua_decoders").join(decoder);
    let config: toml::Table = toml::from_str(config).unwrap();
    let mut sb = Sandbox::start(settings(Kind::Decoder, script, config))
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let mut m = Message::default();
    m.set_payload(payload.to_string());
    for f in fields {
        m.add_field(f);
    }
    sb.process_message(&Pack::new(m), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn all_injected(out: &Outcome) -> Vec<Message> {
    out.injected
        .iter()
        .filter_map(|i| match i {
            Injection::Message { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Asserts the decode failed cleanly (-1, nothing injected) with `why`.
fn assert_fails(out: &Outcome, why: &str) {
    assert_eq!(out.status, -1, "{out:?}");
    assert!(out.injected.is_empty(), "{out:?}");
    assert_eq!(out.error.as_deref(), Some(why), "{out:?}");
}

fn double(m: &Message, name: &str) -> f64 {
    let f = field(m, name);
    assert_eq!(
        f.value_type,
        Some(ValueType::Double as i32),
        "{name}: {f:?}"
    );
    assert_eq!(f.value_double.len(), 1, "{name}: {f:?}");
    f.value_double[0]
}

fn integer(m: &Message, name: &str) -> i64 {
    let f = field(m, name);
    assert_eq!(
        f.value_type,
        Some(ValueType::Integer as i32),
        "{name}: {f:?}"
    );
    f.value_integer[0]
}

fn string(m: &Message, name: &str) -> String {
    let f = field(m, name);
    assert_eq!(f.value_type, None, "{name} is a string: {f:?}");
    String::from_utf8(f.value_string[0].to_vec()).unwrap()
}

#[test]
fn nginx_error_grammar_and_decoder() {
    // From lua_sandbox's tests (src/test/lua/lpeg_clf.lua).
    lua_checks(
        r#"
    local clf = require "common_log_format"
    local t = clf.nginx_error_grammar:match('2014/03/01 11:29:39 [notice] 16842#0: *8878 using inherited sockets from "6;"')
    check(t.Timestamp, 1393673379e9, "time"); check(t.Severity, 5, "notice")
    check(t.Pid, 16842, "pid"); check(t.Fields.tid, 0, "tid"); check(t.Fields.connection, 8878, "conn")
    check(t.Payload, 'using inherited sockets from "6;"', "payload")
    t = clf.nginx_error_grammar:match('2014/03/01 11:29:39 [emerg] 1#2: bind() failed')
    check(t.Severity, 0, "emerg"); check(t.Fields.connection, nil, "no connection"); check(t.Fields.tid, 2, "tid 2")
    for level, sev in pairs{debug = 7, info = 6, warn = 4, error = 3, crit = 2, alert = 1} do
        check(clf.nginx_error_grammar:match('2014/03/01 11:29:39 [' .. level .. '] 1#0: x').Severity, sev, level)
    end
    check(clf.nginx_error_grammar:match('2014/03/01 11:29:39 [warning] 1#0: x'), nil, "unknown level")
    check(clf.nginx_error_grammar:match('2014/03/01 11:29:39 [warn] 1: x'), nil, "no tid")
"#,
    );
    let line = r#"2026/12/03 18:40:01 [error] 4242#4242: *3 open() "/srv/www/missing" failed (2: No such file or directory), client: 127.0.0.1, server: localhost, request: "GET /missing HTTP/1.1", host: "127.0.0.1:8080""#;
    let m = injected(&decode("nginx_error.lua", "", line));
    assert_eq!(m.type_bytes(), b"nginx.error");
    assert_eq!(m.timestamp, 1_796_323_201_000_000_000);
    assert_eq!(m.severity, Some(3));
    assert_eq!(m.pid, Some(4242));
    assert_eq!(double(&m, "tid"), 4242.0);
    assert_eq!(double(&m, "connection"), 3.0);
    assert!(
        m.payload_bytes()
            .starts_with(b"open() \"/srv/www/missing\" failed")
    );
    assert_eq!(m.fields.len(), 2, "{m:?}");
    let m = injected(&decode(
        "nginx_error.lua",
        "type = 'ngx'\npayload_keep = true",
        line,
    ));
    assert_eq!(m.type_bytes(), b"ngx");
    assert_eq!(m.payload_bytes(), line.as_bytes());
    assert_fails(
        &decode("nginx_error.lua", "", "2026/12/03 [error] nope"),
        "not an nginx error log line",
    );
}

#[test]
fn nginx_stub_status_decoder() {
    // From Heka's sandbox/plugins/sandbox_decoders_test.go.
    let page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";
    let m = injected(&decode("nginx_stub_status.lua", "", page));
    assert_eq!(m.type_bytes(), b"nginx_stub_status");
    for (name, want) in [
        ("connections", 291.0),
        ("accepts", 16_630_948.0),
        ("handled", 16_630_948.0),
        ("requests", 31_070_465.0),
        ("reading", 6.0),
        ("writing", 179.0),
        ("waiting", 106.0),
    ] {
        assert_eq!(double(&m, name), want, "{name}");
    }
    assert_eq!(m.fields.len(), 7);
    assert_eq!(m.payload_bytes(), b"");
    let m = injected(&decode(
        "nginx_stub_status.lua",
        "type = 'status'\npayload_keep = true",
        page,
    ));
    assert_eq!(m.type_bytes(), b"status");
    assert_eq!(m.payload_bytes(), page.as_bytes());
    assert_fails(
        &decode("nginx_stub_status.lua", "", "Active connections: x"),
        "not an nginx stub_status page",
    );
}

/// lua_sandbox's slow query samples (src/test/lua/lpeg_mysql.lua) and a MariaDB 10.11 record.
const MYSQL_RECORD: &str = "# User@Host: syncrw[syncrw] @  [127.0.0.1]\n# Query_time: 2.964652  Lock_time: 0.000050 Rows_sent: 251  Rows_examined: 9773\nuse widget;\nSET last_insert_id=999,insert_id=1000,timestamp=1399500744;\n# administrator command: do something\n/* [queryName=FIND_ITEMS] */ SELECT *\nFROM widget\nWHERE id = 10;\n";

#[test]
fn mysql_grammars() {
    lua_checks(&format!(
        r##"
    local mysql = require "mysql"
    local sql = "/* [queryName=FIND_ITEMS] */ SELECT *\nFROM widget\nWHERE id = 10;\n"
    local t = mysql.slow_query_grammar:match([[{MYSQL_RECORD}]])
    check(t.Hostname, "127.0.0.1", "hostname"); check(t.Timestamp, "1399500744000000000", "timestamp")
    check(t.Payload, sql, "payload")
    check(t.Fields.Query_time.value, 2.964652, "query time"); check(t.Fields.Query_time.representation, "s", "s")
    check(t.Fields.Lock_time.value, 0.00005, "lock time"); check(t.Fields.Rows_sent, 251, "rows sent")
    check(t.Fields.Rows_examined, 9773, "rows examined")
    t = mysql.slow_query_grammar:match("# Time: 140507 18:14:18\n# User@Host: syncrw[syncrw] @  [127.0.0.1]\n# Query_time: 2.964652  Lock_time: 0.000050 Rows_sent: 251  Rows_examined: 9773\nSET timestamp=1399500744;\n" .. sql)
    check(t.Payload, sql, "with # Time")
    t = mysql.short_slow_query_grammar:match("# Query_time: 2.964652  Lock_time: 0.000050 Rows_sent: 251  Rows_examined: 9773\nSET last_insert_id=999,timestamp=1399500744;\n" .. sql)
    check(t.Hostname, nil, "short: no host"); check(t.Fields.Rows_sent, 251, "short rows")
    -- MySQL 5.6+: "Id:" after the host, a user name with digits and "_".
    t = mysql.slow_query_grammar:match("# User@Host: app_1[app_1] @ db1.example.com []  Id:     7\n# Query_time: 1.000000  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0\nSET timestamp=1399500744;\nselect 1;")
    check(t.Hostname, "db1.example.com", "host name when no address"); check(t.Payload, "select 1;", "sql at the end")

    local maria = "# User@Host: syncrw[syncrw] @  [127.0.0.1]\n# Thread_id: 110804  Schema: weave0  QC_hit: No\n# Query_time: 1.178108  Lock_time: 0.000053  Rows_sent: 198  Rows_examined: 198\n"
    t = mysql.mariadb_slow_query_grammar:match(maria .. "SET timestamp=1399500744;\n" .. sql)
    check(t.Fields.Thread_id, 110804, "thread"); check(t.Fields.Schema, "weave0", "schema")
    check(t.Fields.QC_hit, "No", "qc hit"); check(t.Fields.Rows_examined, 198, "maria rows")
    check(t.Fields.Full_scan, nil, "no plan")
    t = mysql.mariadb_slow_query_grammar:match(maria .. "# Full_scan: Yes  Full_join: Yes  Tmp_table: Yes  Tmp_table_on_disk: No\n# Filesort: Yes  Filesort_on_disk: No  Merge_passes: 3\nSET timestamp=1399500744;\n" .. sql)
    check(t.Fields.Full_scan, "Yes", "full scan"); check(t.Fields.Tmp_table_on_disk, "No", "tmp on disk")
    check(t.Fields.Merge_passes, 3, "merge passes"); check(t.Fields.Filesort, "Yes", "filesort")
    t = mysql.mariadb_short_slow_query_grammar:match("# Thread_id: 110804  Schema: weave0  QC_hit: No\n# Query_time: 1.178108  Lock_time: 0.000053  Rows_sent: 198  Rows_examined: 198\nSET timestamp=1399500744;\n" .. sql)
    check(t.Fields.Thread_id, 110804, "maria short")
    -- MariaDB 10.11 as it writes it: empty schema, Rows_affected, Priority_queue.
    t = mysql.mariadb_slow_query_grammar:match("# Time: 261203 18:40:00\n# User@Host: root[root] @ localhost [127.0.0.1]\n# Thread_id: 31  Schema:   QC_hit: No\n# Query_time: 0.000164  Lock_time: 0.000034  Rows_sent: 1  Rows_examined: 0\n# Rows_affected: 0  Bytes_sent: 68\n# Full_scan: No  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No\n# Filesort: No  Filesort_on_disk: No  Merge_passes: 0  Priority_queue: No\n#\n# explain: id\tselect_type\n#\nSET timestamp=1796323200;\nselect sleep(0.01);\n")
    check(t.Fields.Schema, "", "empty schema"); check(t.Fields.Rows_affected, 0, "rows affected")
    check(t.Fields.Bytes_sent, 68, "bytes sent"); check(t.Fields.Priority_queue, "No", "priority queue")
    check(t.Payload, "select sleep(0.01);\n", "10.11 sql")
    check(mysql.slow_query_grammar:match("# User@Host: a[a] @  [1.2.3.4]\nselect 1;"), nil, "no stats")
    check(mysql.mariadb_slow_query_grammar:match([[{MYSQL_RECORD}]]), nil, "mysql record for mariadb")
"##
    ));
}

#[test]
fn slow_query_decoders() {
    // Heka's sandbox_decoders_test.go: truncate_sql = 5.
    let m = injected(&decode(
        "mysql_slow_query.lua",
        "truncate_sql = 5",
        MYSQL_RECORD,
    ));
    assert_eq!(m.type_bytes(), b"mysql.slow-query");
    assert_eq!(m.timestamp, 1_399_500_744_000_000_000);
    assert_eq!(m.payload_bytes(), b"/* [q...");
    assert_eq!(m.hostname_bytes(), b"127.0.0.1");
    let q = field(&m, "Query_time");
    assert_eq!(q.value_double, [2.964652]);
    assert_eq!(q.representation_bytes(), b"s");
    assert_eq!(double(&m, "Rows_examined"), 9773.0);
    assert_eq!(m.fields.len(), 4, "{m:?}");
    let m = injected(&decode("mysql_slow_query.lua", "", MYSQL_RECORD));
    assert!(m.payload_bytes().ends_with(b"WHERE id = 10;\n"));
    let m = injected(&decode(
        "mysql_slow_query.lua",
        "truncate_sql = -4",
        MYSQL_RECORD,
    ));
    assert!(m.payload_bytes().ends_with(b"WHERE id = 1..."), "{m:?}");

    let maria = "# User@Host: syncrw[syncrw] @  [127.0.0.1]\n# Thread_id: 110804  Schema: weave0  QC_hit: No\n# Query_time: 1.178108  Lock_time: 0.000053  Rows_sent: 198  Rows_examined: 198\nSET timestamp=1399500744;\n/* [queryName=FIND_ITEMS] */ SELECT *\nFROM widget\nWHERE id = 10;";
    let m = injected(&decode("mariadb_slow_query.lua", "truncate_sql = 5", maria));
    assert_eq!(m.type_bytes(), b"mariadb.slow-query");
    assert_eq!(m.timestamp, 1_399_500_744_000_000_000);
    assert_eq!(m.payload_bytes(), b"/* [q...");
    assert_eq!(double(&m, "Thread_id"), 110_804.0);
    assert_eq!(string(&m, "Schema"), "weave0");
    assert_eq!(string(&m, "QC_hit"), "No");
    assert_eq!(m.fields.len(), 7, "{m:?}");
    assert_fails(
        &decode("mariadb_slow_query.lua", "", MYSQL_RECORD),
        "not a MariaDB slow query log record",
    );
    assert_fails(
        &decode("mysql_slow_query.lua", "", "Time Id Command Argument\n"),
        "not a MySQL slow query log record",
    );
}

#[test]
fn linux_procstat_decoder() {
    let stat = "cpu  14384 125 3330 946000 333 0 356 0 0 0\ncpu0 7000 60 1600 473000 160 0 200 0 0 0\nintr 114930548 113 199 0 0\nctxt 2808304\nbtime 1423004780\nprocesses 3811\nprocs_running 1\nprocs_blocked 0\nsoftirq 288977 23 101952 19 13046 19217 7 0 0 0\n";
    let m = injected(&decode("linux_procstat.lua", "", stat));
    assert_eq!(m.type_bytes(), b"stats.procstat");
    assert_eq!(
        field(&m, "cpu").value_double,
        [
            14384.0, 125.0, 3330.0, 946000.0, 333.0, 0.0, 356.0, 0.0, 0.0, 0.0
        ]
    );
    assert_eq!(field(&m, "cpu0").value_double.len(), 10);
    assert_eq!(field(&m, "intr").value_double[0], 114_930_548.0);
    assert_eq!(field(&m, "ctxt").value_double, [2_808_304.0]);
    assert_eq!(field(&m, "btime").value_double, [1_423_004_780.0]);
    assert_eq!(field(&m, "procs_blocked").value_double, [0.0]);
    assert_eq!(m.fields.len(), 9, "{m:?}");
    // Reading stops at a line that is not numbers.
    let m = injected(&decode(
        "linux_procstat.lua",
        "",
        "ctxt 5\nbogus line\nbtime 7\n",
    ));
    assert_eq!(m.fields.len(), 1, "{m:?}");
    assert_fails(
        &decode("linux_procstat.lua", "", "bogus message"),
        "not the contents of /proc/stat",
    );
}

fn file_path(path: &str) -> Field {
    Field::new_string("FilePath", path.to_string())
}

#[test]
fn linux_diskstats_decoder() {
    // Heka's test lines (11 columns), and a Linux 6.x line (17 columns).
    let names = [
        "ReadsCompleted",
        "ReadsMerged",
        "SectorsRead",
        "TimeReading",
        "WritesCompleted",
        "WritesMerged",
        "SectorsWritten",
        "TimeWriting",
        "NumIOInProgress",
        "TimeDoingIO",
        "WeightedTimeDoingIO",
    ];
    let out = decode_with(
        "linux_diskstats.lua",
        "",
        "   13903    11393   969224    49444    10780    10161  1511920     4104        0     5064    53468\n",
        vec![
            file_path("/sys/block/sda/stat"),
            Field::new_integer("TickerInterval", 2),
        ],
    );
    let m = injected(&out);
    assert_eq!(m.type_bytes(), b"stats.diskstats");
    let want = [
        13903.0, 11393.0, 969224.0, 49444.0, 10780.0, 10161.0, 1511920.0, 4104.0, 0.0, 5064.0,
        53468.0,
    ];
    for (name, want) in names.iter().zip(want) {
        assert_eq!(double(&m, name), want, "{name}");
    }
    assert_eq!(string(&m, "FilePath"), "/sys/block/sda/stat");
    assert_eq!(double(&m, "TickerInterval"), 2.0);
    assert_eq!(m.fields.len(), 13, "{m:?}");
    let m = injected(&decode(
        "linux_diskstats.lua",
        "",
        "19092852        0 510563170 15817012 46452019        0 1546950712 262535124        0 23823976 278362684\n",
    ));
    assert_eq!(double(&m, "ReadsCompleted"), 19_092_852.0);
    let m = injected(&decode(
        "linux_diskstats.lua",
        "",
        "    6371     2153   517950     2406     1310     1539    61696     1157        0     4172     4262        7        0    65536        3      291      695\n",
    ));
    assert_eq!(double(&m, "WeightedTimeDoingIO"), 4262.0);
    assert_eq!(double(&m, "DiscardsCompleted"), 7.0);
    assert_eq!(double(&m, "SectorsDiscarded"), 65536.0);
    assert_eq!(double(&m, "TimeDiscarding"), 3.0);
    assert_eq!(double(&m, "FlushesCompleted"), 291.0);
    assert_eq!(double(&m, "TimeFlushing"), 695.0);
    assert_fails(
        &decode("linux_diskstats.lua", "", "bogus message"),
        "not the contents of a /sys/block/<disk>/stat file",
    );
    assert_fails(
        &decode("linux_diskstats.lua", "", "1 2 3\n"),
        "not the contents of a /sys/block/<disk>/stat file",
    );
}

#[test]
fn linux_loadavg_and_memstats_decoders() {
    // Heka's test payloads.
    let out = decode_with(
        "linux_loadavg.lua",
        "payload_keep = true",
        "0.00 0.01 0.05 3/153 660\n",
        vec![file_path("/proc/loadavg")],
    );
    let m = injected(&out);
    assert_eq!(m.type_bytes(), b"stats.loadavg");
    assert_eq!(double(&m, "1MinAvg"), 0.0);
    assert_eq!(double(&m, "5MinAvg"), 0.01);
    assert_eq!(double(&m, "15MinAvg"), 0.05);
    assert_eq!(double(&m, "NumProcesses"), 3.0);
    assert_eq!(string(&m, "FilePath"), "/proc/loadavg");
    assert_eq!(m.payload_bytes(), b"0.00 0.01 0.05 3/153 660\n");
    assert_fails(
        &decode("linux_loadavg.lua", "", "bogus message"),
        "not the contents of /proc/loadavg",
    );

    let out = decode_with(
        "linux_memstats.lua",
        "",
        "MemTotal:        4047616 kB\nMemFree:         3135780 kB\nActive(anon):      1000 kB\nHugePages_Free:        0\n",
        vec![file_path("/proc/meminfo")],
    );
    let m = injected(&out);
    assert_eq!(m.type_bytes(), b"stats.memstats");
    let total = field(&m, "MemTotal");
    assert_eq!(total.value_double, [4_047_616.0]);
    assert_eq!(total.representation_bytes(), b"kB");
    assert_eq!(double(&m, "MemFree"), 3_135_780.0);
    assert_eq!(double(&m, "Active(anon)"), 1000.0);
    assert_eq!(double(&m, "HugePages_Free"), 0.0);
    assert_eq!(field(&m, "HugePages_Free").representation_bytes(), b"");
    assert_eq!(string(&m, "FilePath"), "/proc/meminfo");
    assert_eq!(m.fields.len(), 5);
    assert_fails(
        &decode("linux_memstats.lua", "", "bogus message"),
        "not the contents of /proc/meminfo",
    );
}

const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   57462     753    0    0    0     0          0         0    57462     753    0    0    0     0       0          0
br-5f3c9a1b2c3d: 139159830 118443194 1 2 3 4 5 6 178516842512 107330545 7 8 9 10 11 12
  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
";

#[test]
fn linux_netdev_decoder() {
    let out = decode_with(
        "linux_netdev.lua",
        "payload_keep = true",
        NET_DEV,
        vec![file_path("/proc/net/dev")],
    );
    let ms = all_injected(&out);
    assert_eq!(ms.len(), 3, "one message per interface: {out:?}");
    let names: Vec<_> = ms.iter().map(|m| string(m, "netdevice")).collect();
    assert_eq!(names, ["lo", "br-5f3c9a1b2c3d", "eth0"]);
    let br = &ms[1];
    assert_eq!(br.type_bytes(), b"stats.netdev");
    assert_eq!(integer(br, "receive_bytes"), 139_159_830);
    assert_eq!(integer(br, "receive_packets"), 118_443_194);
    assert_eq!(integer(br, "receive_multicast"), 6);
    assert_eq!(integer(br, "transmit_bytes"), 178_516_842_512);
    assert_eq!(integer(br, "transmit_carrier"), 11);
    assert_eq!(integer(br, "transmit_compressed"), 12);
    assert_eq!(string(br, "FilePath"), "/proc/net/dev");
    assert_eq!(br.fields.len(), 18, "{br:?}");
    assert_eq!(br.payload_bytes(), NET_DEV.as_bytes(), "payload_keep");
    assert_eq!(integer(&ms[2], "transmit_compressed"), 16);
    assert_fails(
        &decode("linux_netdev.lua", "", "bogus message"),
        "not the contents of /proc/net/dev",
    );
}

#[test]
fn linux_netstat_decoder() {
    let snmp = "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 718979\nIcmp: InMsgs InErrors\nIcmp: 19893 0\nTcp: RtoAlgorithm RtoMin MaxConn ActiveOpens\nTcp: 1 200 -1 42\nUdp: InDatagrams NoPorts\nUdp: 17 2\n";
    let out = decode_with(
        "linux_netstat.lua",
        "",
        snmp,
        vec![file_path("/proc/net/snmp")],
    );
    let m = injected(&out);
    assert_eq!(m.type_bytes(), b"stats.netstat");
    assert_eq!(integer(&m, "Ip_Forwarding"), 1);
    assert_eq!(integer(&m, "Ip_InReceives"), 718_979);
    assert_eq!(integer(&m, "Icmp_InMsgs"), 19893);
    assert_eq!(integer(&m, "Tcp_MaxConn"), -1);
    assert_eq!(integer(&m, "Tcp_ActiveOpens"), 42);
    assert_eq!(integer(&m, "Udp_NoPorts"), 2);
    assert_eq!(string(&m, "FilePath"), "/proc/net/snmp");
    assert_eq!(m.fields.len(), 12, "{m:?}");
    assert_fails(
        &decode("linux_netstat.lua", "", "bogus message"),
        "not the contents of /proc/net/netstat or /proc/net/snmp",
    );
}

#[test]
fn graylog_extended_decoder() {
    // The GELF example of Heka's graylog_extended.lua.
    let gelf = r#"{"version":"1.1","host":"rogueethic.com","short_message":"This is a short message to identify what is going on.","full_message":"An entire backtrace\ncould\ngo\nhere","timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo","_some_env_var":"bar","_null":null,"_tags":["a","b"]}"#;
    let m = injected(&decode(
        "graylog_extended.lua",
        "type = 'gelf'\npayload_keep = true",
        gelf,
    ));
    assert_eq!(m.type_bytes(), b"gelf");
    assert_eq!(m.timestamp, 1_385_053_862_307_200_000);
    assert_eq!(m.env_version_bytes(), b"1.1");
    assert_eq!(m.severity, Some(1));
    assert_eq!(m.hostname_bytes(), b"rogueethic.com");
    assert_eq!(m.payload_bytes(), gelf.as_bytes());
    assert_eq!(
        string(&m, "short_message"),
        "This is a short message to identify what is going on."
    );
    assert_eq!(
        string(&m, "full_message"),
        "An entire backtrace\ncould\ngo\nhere"
    );
    assert_eq!(double(&m, "_user_id"), 9001.0);
    assert_eq!(string(&m, "_some_info"), "foo");
    assert_eq!(field(&m, "_tags").value_string, ["a", "b"]);
    assert!(m.find_first_field(b"_null").is_none());
    assert!(m.find_first_field(b"timestamp").is_none());
    assert!(m.find_first_field(b"level").is_none());
    assert_eq!(m.fields.len(), 6, "{m:?}");

    assert_fails(
        &decode("graylog_extended.lua", "", "not json"),
        "not a JSON object",
    );
    assert_fails(
        &decode("graylog_extended.lua", "", "5"),
        "not a JSON object",
    );
    assert_fails(
        &decode("graylog_extended.lua", "", r#"{"timestamp":"now"}"#),
        "no numeric timestamp",
    );
    assert_fails(
        &decode(
            "graylog_extended.lua",
            "",
            r#"{"timestamp":1,"_nested":{"a":1}}"#,
        ),
        "members that cannot be fields",
    );
}

#[test]
fn bind_grammar_and_decoder() {
    lua_checks(
        r#"
    local bind = require "bind"
    local lpeg = require "lpeg"
    local g = lpeg.Ct(bind.query_log_grammar)
    -- Heka's example line (BIND 9.9).
    local t = g:match("27-May-2015 21:06:49.246 queries: info: client 10.0.1.70#41242 (webserver.company.com): query: webserver.company.com IN A +E (10.0.1.71)")
    check(t.Timestamp, 1432760809e9, "time"); check(t.ClientIP.value, "10.0.1.70", "client")
    check(t.ClientIP.representation, "ipv4", "ipv4"); check(t.ClientEphemeralPort, "41242", "port")
    check(t.FullQuery, "webserver.company.com", "full"); check(t.QueryName, "webserver", "name")
    check(t.QueryDomain, "company.com", "domain"); check(t.RecordClass, "IN", "class")
    check(t.RecordType, "A", "type"); check(#t.QueryFlags, 2, "2 flags")
    check(t.QueryFlags[1], "recursion requested", "+"); check(t.QueryFlags[2], "EDNS used", "E")
    check(t.ServerRespondingIP.value, "10.0.1.71", "server")
    -- BIND 9.18 (Debian 12's named).
    t = g:match("03-Dec-2026 18:27:52.189 queries: info: client @0x7f38854e4c98 127.0.0.1#45949 (www.example.test): query: www.example.test IN AAAA +E(0)TDK (127.0.0.1)")
    check(t.RecordType, "AAAA", "aaaa"); check(#t.QueryFlags, 5, "5 flags")
    check(t.QueryFlags[3], "TCP used", "T"); check(t.QueryFlags[4], "DNSSEC data wanted", "D")
    check(t.QueryFlags[5], "cookie without valid server cookie", "K")
    t = g:match("03-Dec-2026 18:27:52.265 queries: info: client @0x7f38854e6898 ::1#44609 (test): query: test IN DLV -SCV (::1)")
    check(t.ClientIP.representation, "ipv6", "v6 client"); check(t.QueryName, "test", "one label")
    check(t.QueryDomain, nil, "no domain"); check(t.RecordType, "DLV", "DLV (Heka said DLC)")
    check(t.QueryFlags[1], "recursion not requested", "-"); check(t.QueryFlags[2], "query signed", "S")
    check(t.QueryFlags[3], "no DNSSEC validation check", "C"); check(t.QueryFlags[4], "valid server cookie", "V")
    check(g:match("27-May-2015 21:06:49.246 queries: info: client 10.0.1.70#41242 (a.b): query: a.b XX A + (10.0.1.71)"), nil, "class")
"#,
    );
    let line = "03-Dec-2026 18:27:52.097 queries: info: client @0x7f3887a6d098 127.0.0.1#35196 (www.example.test): query: www.example.test IN A +E(0)K (127.0.0.1)";
    let m = injected(&decode("bind_query_log.lua", "type = 'bind.query'", line));
    assert_eq!(m.type_bytes(), b"bind.query");
    assert_eq!(m.timestamp, 1_796_322_472_000_000_000);
    assert_eq!(m.payload_bytes(), line.as_bytes());
    assert_eq!(m.severity, None, "Heka's 'info' was not a number");
    let ip = field(&m, "ClientIP");
    assert_eq!(ip.value_string, ["127.0.0.1"]);
    assert_eq!(ip.representation_bytes(), b"ipv4");
    assert_eq!(string(&m, "ClientEphemeralPort"), "35196");
    assert_eq!(string(&m, "FullQuery"), "www.example.test");
    assert_eq!(string(&m, "QueryName"), "www");
    assert_eq!(string(&m, "QueryDomain"), "example.test");
    assert_eq!(string(&m, "RecordClass"), "IN");
    assert_eq!(string(&m, "RecordType"), "A");
    assert_eq!(
        field(&m, "QueryFlags").value_string,
        [
            "recursion requested",
            "EDNS used",
            "cookie without valid server cookie"
        ]
    );
    assert_eq!(field(&m, "ServerRespondingIP").value_string, ["127.0.0.1"]);
    assert!(m.find_first_field(b"Timestamp").is_none());
    assert_eq!(m.fields.len(), 9, "{m:?}");
    assert_fails(
        &decode(
            "bind_query_log.lua",
            "",
            "03-Dec-2026 18:27:52.097 general: info: x",
        ),
        "not a BIND query log line",
    );
}

#[test]
fn util_flattens_tables() {
    lua_checks(
        r#"
    local util = require "util"
    local f = {}
    util.table_to_fields({a = {b = {c = 1}, d = "x"}, e = {10, 20}, n = cjson and nil, t = true}, f)
    check(f["a.b.c"], 1, "nested"); check(f["a.d"], "x", "string"); check(f["e.1"], 10, "array 1")
    check(f["e.2"], 20, "array 2"); check(f.t, true, "bool")
    f = {}
    util.table_to_fields({nested1 = {field = {nested2 = "value"}}}, f, nil, "-", 2)
    check(f["nested1-field"], '{"nested2":"value"}', "max depth")
    f = {}
    -- Heka compat: "." is a pattern, so every character of "ab" counts as a level.
    util.table_to_fields({ab = {c = {d = 1}}}, f, nil, nil, 3)
    check(f.ab, '{"c":{"d":1}}', "depth counted by pattern")
    f = {}
    util.table_to_fields({x = {y = 1}}, f, "p", "_")
    check(f["p_x_y"], 1, "parent")
    local cjson = require "cjson"
    f = {}
    util.table_to_fields({z = cjson.null, w = 1}, f)
    check(f.z, nil, "null dropped"); check(f.w, 1, "kept")

    local a = {1, 2, 3, 4, 5}
    util.behead_array(3, a)
    check(#a, 3, "beheaded"); check(a[1], 3, "first"); check(a[3], 5, "last"); check(a[4], nil, "cleared")
    a = {1, 2}
    util.behead_array(5, a)
    check(#a, 0, "past the end empties"); check(a[1], nil, "empty")
    a = {1, 2}
    util.behead_array(1, a)
    check(#a, 2, "idx 1 keeps")
"#,
    );
}

#[test]
fn json_decoder() {
    // Heka's sandbox_decoders_test.go "JSON decoder".
    let config = r#"
map_fields = true
Severity = "severity"
Hostname = "hostname"
Timestamp = "time"
maximum_depth = 2
separator = "-"
"#;
    let with_format = format!("{config}timestamp_format = '%m/%d/%Y %H:%M:%S'\n");
    let m = injected(&decode(
        "json.lua",
        &with_format,
        r#"{"hostname":"wyrd.local","time":"05/07/2014 15:12:24","msg":"message","severity":3,"nested1":{"field":{"nested2":"value"}}}"#,
    ));
    assert_eq!(m.type_bytes(), b"json");
    assert_eq!(m.severity, Some(3));
    assert_eq!(m.hostname_bytes(), b"wyrd.local");
    assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
    assert_eq!(string(&m, "msg"), "message");
    assert_eq!(string(&m, "nested1-field"), r#"{"nested2":"value"}"#);
    assert_eq!(m.fields.len(), 2, "{m:?}");
    let m = injected(&decode(
        "json.lua",
        config,
        r#"{"hostname":"wyrd.local","time":1399475544000000000,"msg":"message","severity":3,"nested1":{"field":{"nested2":"value"}}}"#,
    ));
    assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
    assert_eq!(m.severity, Some(3));

    // Defaults: fields only, arrays by index, nulls dropped, type "json".
    let m = injected(&decode(
        "json.lua",
        "payload_keep = true\ntype = 'app'",
        r#"{"a":{"b":1,"c":[true,"x"]},"severity":"high","z":null}"#,
    ));
    assert_eq!(m.type_bytes(), b"app");
    assert_eq!(double(&m, "a.b"), 1.0);
    assert_eq!(field(&m, "a.c.1").value_bool, [true]);
    assert_eq!(string(&m, "a.c.2"), "x");
    assert_eq!(string(&m, "severity"), "high");
    assert!(m.payload_bytes().starts_with(b"{\"a\""));
    assert_eq!(m.fields.len(), 4, "{m:?}");
    // A mapped Type/Payload member overrides; a member of the wrong type stays a field.
    let m = injected(&decode(
        "json.lua",
        "map_fields = true\nType = 't'\nPayload = 'p'\nPid = 'pid'",
        r#"{"t":"mapped","p":"text","pid":"12"}"#,
    ));
    assert_eq!(m.type_bytes(), b"mapped");
    assert_eq!(m.payload_bytes(), b"text");
    assert_eq!(m.pid, None);
    assert_eq!(string(&m, "pid"), "12");

    assert_fails(&decode("json.lua", "", "{bad"), "Failed to decode JSON.");
    assert_fails(
        &decode("json.lua", "map_fields = true\nSeverity = 's'", "7"),
        "Failed to decode JSON.",
    );
    assert_fails(
        &decode("json.lua", &with_format, r#"{"time":"yesterday"}"#),
        "Failed to decode timestamp.",
    );
}

/// Heka's json.lua kept the previous message's Timestamp when a message had none (with
/// map_fields off); ours leaves it to the host.
#[test]
fn json_decoder_does_not_reuse_timestamps() {
    let script = share_dir().join("lua_decoders/json.lua");
    let config: toml::Table = toml::from_str("Timestamp = 't'").unwrap();
    let mut sb = Sandbox::start(settings(Kind::Decoder, script, config)).unwrap();
    let mut run = |payload: &str| {
        let mut m = Message::default();
        m.set_payload(payload.to_string());
        injected(
            &sb.process_message(&Pack::new(m), InjectBudget::Unlimited)
                .unwrap(),
        )
    };
    assert_eq!(run(r#"{"t":1000000000}"#).timestamp, 1_000_000_000);
    let second = run(r#"{"x":1}"#);
    assert_ne!(second.timestamp, 1_000_000_000, "{second:?}");
}

#[test]
fn sfl4j_grammar() {
    // lua_sandbox's samples (src/test/lua/lpeg_sfl4j.lua).
    lua_checks(
        r#"
    local sfl4j = require "sfl4j"
    local t = sfl4j.logevent_grammar:match("ERROR [2014-11-21 16:35:59,501] com.domain.client.jobs.OutgoingQueue: Error handling output file with job job-name\n")
    check(t.severity, 3, "error"); check(t.timestamp, 1.416587759501e+18, "time")
    check(t.class, "com.domain.client.jobs.OutgoingQueue", "class")
    check(t.message, "Error handling output file with job job-name", "message")
    check(t.stacktrace, "", "no stacktrace")
    t = sfl4j.logevent_grammar:match("ERROR [2014-11-20 16:40:51,577] com.domain.substitute.UsersLoop: Error caught in user loop\n! java.net.SocketTimeoutException: Read timed out\n! at java.lang.Thread.run(Thread.java:744)\n    ")
    check(t.timestamp, 1.416501651577e+18, "time 2"); check(t.message, "Error caught in user loop", "message 2")
    check(t.stacktrace, "! java.net.SocketTimeoutException: Read timed out\n! at java.lang.Thread.run(Thread.java:744)\n", "stacktrace")
    for lvl, sev in pairs{TRACE = 7, debug = 7, INFO = 6, warn = 4, FATAL = 0} do
        check(sfl4j.logevent_grammar:match(lvl .. " [2014-11-21 16:35:59,] a.B: m\n").severity, sev, lvl)
    end
    check(sfl4j.logevent_grammar:match("INFO [2014-11-21 16:35:59,] a.B: m\n").timestamp, 1416587759e9, "no millis")
    check(sfl4j.logevent_grammar:match("NOTICE [2014-11-21 16:35:59,501] a.B: m\n"), nil, "unknown level")
    check(sfl4j.logevent_grammar:match("INFO [2014-11-21 16:35:59,501] a.B: m"), nil, "needs the newline")
"#,
    );
}

#[test]
fn slow_query_decoders_refuse_a_bad_truncate_sql() {
    let script = share_dir().join("lua_decoders/mysql_slow_query.lua");
    let config: toml::Table = toml::from_str("truncate_sql = 'x'").unwrap();
    let Err(err) = Sandbox::start(settings(Kind::Decoder, script, config)) else {
        panic!("a string truncate_sql is refused at start");
    };
    assert!(
        format!("{err:?}").contains("truncate_sql: a number of bytes is required"),
        "{err:?}"
    );
}

#[test]
fn syslog_message_grammars() {
    // lua_sandbox's samples (src/test/lua/lpeg_syslog_message.lua), and lines of the same
    // formats for the programs it had no sample of.
    lua_checks(
        r#"
    local sm = require "syslog_message"
    local function m(prog, line) return sm.get_prog_grammar(prog):match(line) end
    local f = m("CRON", "(root) CMD ( cd / && run-parts --report /etc/cron.hourly)")
    check(f.cron_username, "root", "cron user"); check(f.cron_event, "CMD", "cron event")
    check(f.cron_detail, " cd / && run-parts --report /etc/cron.hourly", "cron detail")
    f = m("crontab", "(root) LIST (root)")
    check(f.cron_event, "LIST", "crontab"); check(f.cron_detail, "root", "crontab detail")

    f = m("dhclient", "DHCPDISCOVER on eth0 to 10.20.30.42 port 67 interval 18000")
    check(f.dhcp_type, "DHCPDISCOVER", "type"); check(f.dhcp_client_interface, "eth0", "iface")
    check(f.dhcp_server_addr.value, "10.20.30.42", "server"); check(f.dhcp_server_addr.representation, "ipv4", "v4")
    check(f.dhcp_server_port, 67, "port"); check(f.dhcp_client_interval_seconds, 18000, "interval")
    f = m("dhclient", "DHCPREQUEST on eth0 to 10.20.30.42 port 67")
    check(f.dhcp_type, "DHCPREQUEST", "request")
    f = m("dhclient", "DHCPACK from 10.20.30.42")
    check(f.dhcp_server_addr.value, "10.20.30.42", "ack")
    f = m("dhclient", "bound to 10.20.30.40 -- renewal in 20346 seconds.")
    check(f.dhcp_client_addr.value, "10.20.30.40", "bound"); check(f.dhcp_client_renewal_seconds, 20346, "renewal")

    f = m("dhcpd", "DHCPINFORM from 192.168.0.45 via 192.168.0.1")
    check(f.dhcp_type, "DHCPINFORM", "inform"); check(f.dhcp_client_addr.value, "192.168.0.45", "inform addr")
    check(f.dhcp_source, "192.168.0.1", "inform source")
    f = m("dhcpd", "DHCPDISCOVER from aa:bb:cc:dd:ee:ff via 10.2.3.4: unknown network segment")
    check(f.dhcp_client_hw_addr, "aa:bb:cc:dd:ee:ff", "hw"); check(f.dhcp_source, "10.2.3.4", "source")
    check(f.dhcp_message, "unknown network segment", "message")
    f = m("dhcpd", "DHCPACK to 192.168.2.3 (aa:bb:cc:dd:ee:ff) via vlan42")
    check(f.dhcp_type, "DHCPACK", "ack"); check(f.dhcp_client_hw_addr, "aa:bb:cc:dd:ee:ff", "ack hw")
    check(f.dhcp_source, "vlan42", "ack source")
    f = m("dhcpd", "DHCPOFFER on 10.0.0.9 to aa:bb:cc:dd:ee:ff (laptop) via eth1 [600]")
    check(f.dhcp_client_hostname, "laptop", "offer host"); check(f.dhcp_lease_time, 600, "lease")
    f = m("dhcpd", "BOOTREPLY for 10.0.0.9 to pxe1 (aa:bb:cc:dd:ee:ff) via eth1")
    check(f.dhcp_client_addr.value, "10.0.0.9", "bootreply keeps the address")
    check(f.dhcp_client_hostname, "pxe1", "bootreply host")
    f = m("dhcpd", "balanced pool 7f3c 10.0.0.0/24  total 100  free 40  backup 50  lts 5  max-misbal 15")
    check(f.dhcp_pool_result, "balanced", "pool"); check(f.dhcp_free_leases, 40, "free"); check(f.dhcp_thresh, 15, "thresh")

    f = m("login", "FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure")
    check(f.failcount, 1, "failcount"); check(f.tty, "/dev/tty1", "tty"); check(f.user, "root", "user")
    check(f.pam_error, "Authentication failure", "pam error")
    f = m("groupadd", "new group: name=heka, GID=998")
    check(f.group_name, "heka", "group"); check(f.gid, 998, "gid")
    f = m("useradd", "new user: name=heka, UID=998, GID=998, home=/var/cache/hekad, shell=/usr/sbin/nologin")
    check(f.user_name, "heka", "user name"); check(f.uid, 998, "uid"); check(f.user_home, "/var/cache/hekad", "home")
    check(f.user_shell, "/usr/sbin/nologin", "shell")
    check(m("groupdel", "group 'heka' removed from /etc/group").group_dbname, "/etc/group", "groupdel")

    f = m("named", "lame server resolving '40.30.20.10.in-addr.arpa' (in '30.20.10.in-addr.arpa'?): 10.11.12.13#53")
    check(f.dns_error, "lame server", "lame"); check(f.dns_domain, "30.20.10.in-addr.arpa", "domain")
    check(f.dns_addr.value, "10.11.12.13", "dns addr"); check(f.dns_port, 53, "dns port")
    f = m("named", "host unreachable resolving 'ipv6.example.org/AAAA/IN': 2001:503:231d::2:30#53")
    check(f.dns_error, "host unreachable", "unreachable"); check(f.dns_type, "AAAA", "dns type")
    check(f.dns_class, "IN", "dns class"); check(f.dns_addr.representation, "ipv6", "v6")
    f = m("named", "DNS format error from 134.170.107.24#53 resolving cid-ff58b408a75804a8.users.storage.live.com/AAAA for client 10.2.3.4#60466: Name storage.live.com (SOA) not subdomain of zone users.storage.live.com -- invalid response")
    check(f.dns_type, "AAAA", "format type"); check(f.dns_client_port, 60466, "client port")
    check(f.dns_message, "Name storage.live.com (SOA) not subdomain of zone users.storage.live.com -- invalid response", "format msg")
    f = m("named", "DNS format error from 184.105.66.196#53 resolving ns-os1.qq.com/AAAA: Name qq.com (SOA) not subdomain of zone ns-os1.qq.com -- invalid response")
    check(f.dns_name, "ns-os1.qq.com", "format name"); check(f.dns_client_addr, nil, "no client")
    f = m("named", "client 10.8.6.1#17069/key trusty (pc.example.org): view internal: transfer of 'pc.example.org/IN': IXFR started: TSIG trusty (serial 12 -> 14)")
    check(f.dns_client_signer, "trusty", "signer"); check(f.dns_name, "pc.example.org", "client name")
    check(f.dns_view, "internal", "view")
    f = m("named", "success resolving 'ns1.example.com/AAAA' (in 'example.com'?) after disabling EDNS")
    check(f.dns_message, "disabling EDNS", "success")
    f = m("named", "zone 12.11.10.in-addr.arpa/IN/internal: sending notifies (serial 42)")
    check(f.dns_serial, 42, "serial"); check(f.dns_view, "internal", "zone view")
    check(m("named", "clients-per-query decreased to 22").dns_clients_per_query, 22, "cpq")

    f = m("puppet-agent", "(/Stage[main]/Nantes::Profile::Heka_base/Exec[setcap CAP_NET_BIND_SERVICE=+eip /usr/bin/hekad]/returns) executed successfully")
    check(f.puppet_parameter, "returns", "parameter"); check(f.puppet_change, "executed successfully", "change")
    f = m("puppet-agent", "(/Stage[main]/Logstash::Service/Logstash::Service::Init[logstash]/Service[logstash]/ensure) ensure changed 'stopped' to 'running'")
    check(f.puppet_old_value, "stopped", "old"); check(f.puppet_new_value, "running", "new")
    f = m("puppet-agent", "(/Stage[main]/Elasticsearch::Config/File[/var/log/elasticsearch/test.log]/owner) current_value root, should be elasticsearch (noop)")
    check(f.puppet_current_value, "root", "current"); check(f.puppet_should_value, "elasticsearch", "should")
    check(f.puppet_noop, true, "noop")
    f = m("puppet-agent", "(/Stage[main]/Nantes::Profile::Heka_base/File[/etc/heka/conf.d/10_net_syslog.toml]) Scheduling refresh of Service[heka]")
    check(f.puppet_callback, "refresh", "callback"); check(f.puppet_callback_target, "Service[heka]", "target")
    f = m("puppet-agent", "(Class[Logstash::Service]) Would have triggered 'refresh' from 1 events")
    check(f.puppet_msg, "Would have triggered", "msg"); check(f.puppet_events_count, 1, "events")
    f = m("puppet-agent", "(/Stage[main]/Nantes::Profile::Heka_base/File[/etc/heka/conf.d/10_net_syslog.toml]) Filebucketed /etc/heka/conf.d/10_net_syslog.toml to main with sum 70358a826b06f61f36bdc6aecaa3db14")
    check(f.puppet_bucket, "main", "bucket"); check(f.puppet_file_sum, "70358a826b06f61f36bdc6aecaa3db14", "sum")
    f = m("puppet-agent", "Finished catalog run in 7.11 seconds")
    check(f.puppet_benchmark_seconds, 7.11, "benchmark")
    check(type(m("puppet-agent", "Loading facts")), "table", "kept as is")

    f = m("sshd", "Accepted publickey for sathieu from 10.11.12.13 port 4242 ssh2")
    check(f.sshd_authmsg, "Accepted", "authmsg"); check(f.sshd_method, "publickey", "method")
    check(f.remote_user, "sathieu", "remote user"); check(f.remote_addr.value, "10.11.12.13", "remote addr")
    check(f.remote_port, 4242, "remote port")
    f = m("sshd", "Failed password for invalid user administrator from 10.20.30.40 port 4242 ssh2")
    check(f.remote_user, "administrator", "invalid user")
    f = m("sshd", "Received disconnect from 10.2.3.4: 11: The user disconnected the application [preauth]")
    check(f.disconnect_reason, 11, "reason"); check(f.disconnect_msg, "The user disconnected the application [preauth]", "disconnect")
    f = m("sshd", "Server listening on 0.0.0.0 port 22.")
    check(f.listen_address, "0.0.0.0", "listen"); check(f.listen_port, "22", "listen port")

    f = m("sudo", "usrnagios : TTY=unknown ; PWD=/home/usrnagios ; USER=root ; COMMAND=/usr/bin/ctdb -Y status")
    check(f.sudo_message, "usrnagios", "sudo message"); check(f.sudo_tty, "unknown", "tty")
    check(f.sudo_pwd, "/home/usrnagios", "pwd"); check(f.sudo_user, "root", "sudo user")
    check(f.sudo_command, "/usr/bin/ctdb -Y status", "command")
    f = m("su", "Successful su for root by admin")
    check(f.su_status, "Successful", "su"); check(f.su_name, "root", "su name"); check(f.su_oldname, "admin", "old")

    f = m("systemd-logind", "New session 42 of user sathieu.")
    check(f.session_id, 42, "session"); check(f.user_id, "sathieu", "user id"); check(f.sd_message, "SESSION_START", "start")
    f = m("systemd-logind", "Removed session 42.")
    check(f.sd_message, "SESSION_STOP", "stop")

    local pam = sm.get_wildcard_grammar("PAM")
    f = pam:match("pam_unix(login:session): session opened for user sathieu by LOGIN(uid=1000)")
    check(f.pam_module, "pam_unix", "module"); check(f.pam_service, "login", "service"); check(f.pam_type, "session", "type")
    check(f.pam_action, "session opened", "action"); check(f.user_name, "sathieu", "pam user")
    check(f.login_name, "LOGIN", "login"); check(f.uid, 1000, "pam uid")
    f = pam:match("pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=root")
    check(f.pam_action, "authentication failure", "failure"); check(f.tty, "/dev/tty1", "pam tty")
    check(f.ruser, "", "ruser"); check(f.rhost, "", "rhost"); check(f.user, "root", "pam user=")
    f = pam:match("pam_unix(login:session): session closed for user sathieu")
    check(f.pam_action, "session closed", "closed")
    check(sm.get_wildcard_grammar({"PAM"})[1], pam, "list of wildcards")
    check(sm.get_wildcard_grammar().PAM, pam, "all wildcards")
    check(sm.get_prog_grammar("nope"), nil, "unknown program")
    check(m("sshd", "something else entirely"), nil, "no match")
"#,
    );
}

/// Checks the postfix module against every sample of `testdata/postfix_samples.lua`.
const POSTFIX_CHECKS: &str = r#"
    local pf = require "postfix"
    local n = 0
    for file, sample in pairs(tests) do
        local program = string.gsub(string.lower(sample[1]), "_", "/", 1)
        local got = pf.postfix_match(program, sample[2])
        if not got then
            check(nil, "a match", file)
        else
            n = n + 1
            for k, want in pairs(sample[3]) do
                local v = got[k]
                if type(v) == "table" then v = v.value end
                check(v, want, file .. " " .. k)
            end
        end
    end
    check(n, 108, "samples")
    local t = pf.postfix_match("postfix/anvil", "statistics: max cache size 1 at Oct 26 18:13:50")
    check(t.postfix_anvil_cache_size.value_type, 2, "integer field")
    t = pf.postfix_match("postfix/smtpd", "connect from mail.example.com[192.0.2.7]:2525")
    check(t.postfix_client_hostname.representation, "hostname", "hostname")
    check(t.postfix_client_ip.representation, "ipv4", "ip"); check(t.postfix_client_port.value, 2525, "port")
    -- With extract_keyvalue_data (lua_sandbox's own case).
    t = pf.postfix_match("mta-in/discard", "25F2E5E061: to=<george.desantis@test.example.com>, relay=none, delay=0.05, delays=0.05/0/0/0, dsn=2.0.0, status=sent (test.example.com)", true)
    check(t.postfix_queueid, "25F2E5E061", "queue id"); check(t.postfix_to, "george.desantis@test.example.com", "to")
    check(t.postfix_relay, "none", "relay"); check(t.postfix_delay, 0.05, "delay")
    check(t.postfix_delay_before_qmgr, 0.05, "before qmgr"); check(t.postfix_delay_transmission, 0, "transmission")
    check(t.postfix_dsn, "2.0.0", "dsn"); check(t.postfix_status, "sent", "status")
    check(t.postfix_keyvalue_data, nil, "split")
    t = pf.postfix_match("postfix/qmgr", "0F5383D: from=<owner@postfix.org>, size=5360, nrcpt=1 (queue active)", true)
    check(t.postfix_size.value, 5360, "size"); check(t.postfix_size.value_type, 2, "size integer")
    check(t.postfix_from, "owner@postfix.org", "from")
    t = pf.postfix_match("postfix/smtp", "7EE668039: to=<a@example.com>, relay=mx.example.com[192.0.2.1]:25, delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent (250 ok)", true)
    check(t.postfix_relay_hostname.value, "mx.example.com", "relay split"); check(t.postfix_relay_port.value, 25, "relay port")
    t = pf.postfix_match("postfix/qmgr", "ABCDEF1234567890xY: removed")
    check(t.postfix_queueid, "ABCDEF1234567890xY", "long queue id starting with hex")
    check(pf.postfix_match("postfix/nope", "x"), nil, "unknown daemon")
    check(pf.postfix_match("smtpd", "connect from [1.2.3.4]"), nil, "no daemon prefix")
    check(pf.postfix_match("postfix/smtpd", "not postfix at all"), nil, "no match")
"#;

#[test]
fn postfix_grammars() {
    let samples = include_str!("../testdata/postfix_samples.lua");
    lua_checks(&format!(
        "    local tests = (function()\n{samples}\nend)()\n{POSTFIX_CHECKS}"
    ));
}
