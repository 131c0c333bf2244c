#!/usr/bin/env python3
"""Writes the fuzz seed files: framing and message_decode from Heka's recorded streams,
matcher_parse from expressions of Heka's matcher tests (message/message_matcher_test.go),
splitters partly from the recorded streams, payload_regex, structured_decoders, config_load,
gotime and statsd from the examples below and the repository's example configs.

Usage (from the repository root; the folder of Heka's recorded streams defaults to the
repository's testdata/heka):
    python3 fuzz/seeds/make_seeds.py [testdata/heka]

The records of protobuf.log are 36-57 KB, mostly one "filler" field and the payload; the seeds
drop "filler" and cut the payload to 32 bytes so that every seed stays under -max_len=4096.
"""

import hashlib
import hmac
import os
import sys


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def read_varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return v, i


def fields(b):
    """Top-level protobuf fields as (tag, wire type, raw encoded bytes of the field)."""
    i, out = 0, []
    while i < len(b):
        start = i
        k, i = read_varint(b, i)
        tag, wire = k >> 3, k & 7
        if wire == 0:
            _, i = read_varint(b, i)
        elif wire == 2:
            n, i = read_varint(b, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        out.append((tag, wire, b[start:i]))
    return out


def frames(stream):
    """(header bytes, message bytes) of every record of a well-formed stream."""
    i, out = 0, []
    while i < len(stream):
        hlen = stream[i + 1]
        header = stream[i + 2 : i + 2 + hlen]
        mlen, _ = read_varint(header, 1)  # field 1 comes first in Heka's headers
        start = i + 3 + hlen
        out.append((header, stream[start : start + mlen]))
        i = start + mlen
    return out


def shrink(msg):
    """Drops the "filler" field and cuts the payload (field 6) to 32 bytes."""
    out = bytearray()
    for tag, _, raw in fields(msg):
        if tag == 10 and b"\x0a\x06filler" in raw[:12]:
            continue
        if tag == 6:
            n, j = read_varint(raw, 1)
            payload = raw[j : j + n][:32]
            raw = b"\x32" + varint(len(payload)) + payload
        out += raw
    return bytes(out)


def frame(msg, signer=None):
    header = b"\x08" + varint(len(msg))
    if signer:
        name, version, hash_name, key = signer
        digest = hmac.new(key, msg, getattr(hashlib, hash_name)).digest()
        header += b"\x18" + varint(1 if hash_name == "sha1" else 0)
        header += b"\x22" + varint(len(name)) + name
        header += b"\x28" + varint(version)
        header += b"\x32" + varint(len(digest)) + digest
    return b"\x1e" + bytes([len(header)]) + header + b"\x1f" + msg


# Valid, false, true and malformed expressions from Heka's matcher tests, one seed each.
EXPRESSIONS = [
    "TRUE",
    "FALSE",
    "(Severity == 7 || Payload == 'Test Payload') && Type == 'TEST'",
    "Type == 'test' && Severity == 7 || Payload == 'Test Payload'",
    "Type == 'foo' || Type == 'bar' || Type == 'TEST'",
    'EnvVersion == "0.8"',
    "EnvVersion >= '0.8'",
    "Hostname != ''",
    "Pid != 0",
    "Severity <= 6",
    "Timestamp > 0",
    "Uuid == '437f1c2a-5e11-4b8d-9c04-e23a770bd165'",
    "Fields[foo][1][0] == 'alternate'",
    "Fields[int][0][1] == 1024",
    "Fields[double] == 99.9",
    "Fields[bool] == TRUE",
    "Fields[bool] == FALSE",
    "Fields[missing] == NIL",
    "Type =~ /TEST/ && Payload =~ /Payload/",
    "Payload =~ /^Payload/",
    r"Fields[Payload] =~ /name=\w+/",
    "Payload =~ /(?P<pl>Payload)/ && Fields[Payload] =~ /name=(?P<name>\\w+)/",
    "Type == \"te'st\"",
    "Type = 'test'",
    "Type == 'test' && (Severity==7 || Payload == 'Test Payload'",
    "Fields[test][0][0][]",
    "Fields[test][xxxx",
    "Pid =~ /6/",
    "Type =~ /\\ytest/",
    "Type != 'test\"",
]


# splitters: (seed name, setup selector, largest chunk - 1, chunk seed, setup bytes). The
# selectors index SETUPS in fuzz_targets/splitters.rs; 12 and 13 make their own setups.
SPLITTER_TEXT = [
    ("token_lines", 4, 0x03, 1, b"one\ntwo\n\nthree\r\npartial"),
    ("token_count", 5, 0x01, 2, b"a;b;c;d;e;f;g;h"),
    ("regex_lines", 6, 0x07, 3, b"first line\nsecond\n\nfourth\r\nno end"),
    ("regex_dates", 7, 0x0F, 4,
     b"2015-10-07 18:47:00 start\n  continued\n2015-10-07 18:47:01 next\n\n2015-10-0"),
    ("regex_dates_eol", 8, 0x02, 5, b"head\n2015-10-07 a\nb\n2015-10-08 c\n"),
    ("regex_optional_capture", 9, 0x05, 6, b"x\n1 first\n2 second\n\nplain\n3 third\n"),
    ("regex_semicolons", 10, 0x03, 7, b"a; b;;c ;  d;"),
    ("regex_crlf", 11, 0x04, 8, b"l1\r\nl2\nl3\r\n\r\nl5"),
    ("token_custom", 12, 0x02, 9, b"\t\x02a\tb\tc\td\te"),
    ("regex_custom", 13, 0x06, 10, b"\x00\\s+(\\d+)\x00x 1 y 22 z 333 w"),
    ("regex_custom_eol", 13, 0x06, 11, b"\x01(?m)(;)$\x00a;\nb;c;\n"),
]

# structured_decoders: (seed name, config index in fuzz_targets/structured_decoders.rs,
# payload). Heka's PayloadXmlDecoder and json.lua test documents, and shapes that reach each
# rule.
STRUCTURED = [
    ("xml_event", 0, b"<?xml version='1.0'?><!-- c --><event time='2015-10-07T18:47:00Z'>"
     b"<level>warning</level><?pi go?><a x='1'>t&amp;<![CDATA[<u>]]></a></event>"),
    ("xml_library", 1, b"<library><book id='a'><isbn>1</isbn><b>b</b><author k='v'>x</author>"
     b"</book><book ms='1444243620123'><c/><d/><e/></book></library>"),
    ("xml_broken", 0, b"<a><b></a>"),
    ("json_heka", 3, b'{"hostname":"wyrd.local","time":"05/07/2014 15:12:24","msg":"message",'
     b'"severity":3,"nested1":{"field":{"nested2":"value"}}}'),
    ("json_headers", 3, b'{"p":"x","u":"72de6a05-1b99-4a88-84c2-90797624c68f","t":"k","l":"g",'
     b'"h":"h","s":3.5,"e":1.5,"i":7,"ts":1399475544000000000,"a":[1,null,{"b":true}]}'),
    ("json_flat", 2, b'{"a":{"b":[1,2,{"c":"d"}]},"a.b":0,"a":null,"e":[],"f":{}}'),
    ("json_format", 4, b'{"ts":"2014-05-07T15:12:24+0200 Wed May  7 15:12:24 2014 05/07/14 '
     b'03:12:24 PM  7  3  3 127 PDT","x":[[1]]}'),
    ("json_epoch", 5, b'{"ts":1399475544,"y":"z"}'),
    ("json_array", 2, b'[{"a":1},"b",null]'),
    ("json_scalar", 2, b'"s"'),
]

# payload_regex: (seed name, config index in fuzz_targets/payload_regex.rs, payload).
PAYLOADS = [
    ("nginx", 0, b'127.0.0.1 - - [07/Oct/2015:18:47:00 -0700] "GET /index.html HTTP/1.1" 200 1234'),
    ("nginx_no_match", 0, b"not an access log line"),
    ("rfc3339", 1, b"2015-10-07T18:47:00.123456789-07:00|warning"),
    ("rfc1123_fallback", 1, b"Wed, 07 Oct 2015 18:47:00 PDT|err"),
    ("syslog_yearless", 2, b"Oct  7 18:47:00|3"),
    ("time_only", 3, b"6:47:00.500PM|debug"),
    ("zone_abbrev", 4, b"Wednesday, 07-Oct-15 18:47:00 EDT|4"),
    ("offsets", 5, b"2015 Oct  7 18:47:00,123456 +10:30:00 +1030"),
    ("epoch", 6, b"1444243620.123456789|0"),
    ("epoch_milli", 7, b"1444243620123.456"),
    ("epoch_micro", 8, b"1444243620123456.7"),
    ("epoch_nano", 9, b"1444243620123456789"),
    ("template", 10, b"1234.5|3|437f1c2a-5e11-4b8d-9c04-e23a770bd165|host.example|the rest"),
    ("template_raw_uuid", 10, b"77|-1|0123456789abcdef|rest, no host"),
]

# config_load: hekad configs beside the repository's examples/*.toml.
CONFIGS = {
    "counter": """[TcpInput]
address = "127.0.0.1:5999"
[CounterFilter]
[LogOutput]
message_matcher = "Type == 'heka.counter-output'"
encoder = "PayloadEncoder"
[PayloadEncoder]
""",
    "globals_env": """[hekad]
maxprocs = 2
max_message_size = 8192
hostname = "%ENV[HOSTNAME]"
base_dir = "/var/cache/hekad"

[in]
type = "UdpInput"
address = "%ENV[UDP_ADDR]"
splitter = "lines"
decoder = "regex"

[lines]
type = "RegexSplitter"
delimiter = '\n(\d{4}-\d{2}-\d{2})'
delimiter_eol = false
deliver_incomplete_final = true

[regex]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Timestamp>\S+) (?P<Severity>\w+) (?P<Msg>.*)'
timestamp_layout = "2006-01-02T15:04:05Z07:00"
timestamp_location = "Europe/Berlin"
[regex.severity_map]
warning = 4
[regex.message_fields]
Type = "app.log"
"Text|line" = "%Msg%"
""",
    "errors": """[TcpInput]
address = 5
adress_typo = 1

[x]
type = "Whatever"

[CounterFilter]
message_matcher = "Type = 'x'"
ticker_interval = "five"

[TokenSplitter]
delimiter = "ab"

[TokenSplitter]
""",
    "outputs": """[FileOutput]
message_matcher = "Fields[foo] == 'bar' && Severity < 4"
path = "/var/log/heka/out-%Y%m%d.log"
rotation_interval = 24
encoder = "RstEncoder"
flush_operator = "OR"
flush_count = 100
use_framing = false
retries = { max_delay = "30s", delay = "250ms", max_retries = -1 }

[RstEncoder]

[tcp]
type = "TcpOutput"
address = "127.0.0.1:5565"
message_matcher = "TRUE"
use_buffering = true
[tcp.buffering]
max_file_size = 1048576
full_action = "block"
""",
}

# gotime: (seed name, zone selector, nanoseconds since the epoch, layout, value).
T = 1_444_243_620_123_456_789
TIMES = [
    ("rfc3339_utc", 0, T, "2006-01-02T15:04:05.999999999Z07:00", "2015-10-07T18:47:00.123456789Z"),
    ("unixdate_fixed", 1 + 4 * 27, T, "Mon Jan _2 15:04:05 MST 2006", "Wed Oct  7 18:47:00 PDT 2015"),
    ("stamp_la", 2, -1, "Jan _2 15:04:05.000000", "Oct  7 18:47:00.123456"),
    ("kitchen_lord_howe", 2 + 4, T, "3:04PM", "6:47PM"),
    ("offsets_kolkata", 3 + 8, 0, "2006-01-02 15:04:05 -07:00:00 Z0700 -07", "1970-01-01 05:30:00 +05:30:00 +0530 +05"),
    ("strftime", 0, T, "%Y-%m-%d %H:%M:%S %z %Z %a %b %e %j %p", ""),
    ("odd_elements", 1, -T, "Monday January 2 _2 1 01 06 pm PM .000 ,999 _2006 Z07:00:00", "Tuesday March 26 26 3 03 24 am AM .877 ,543 _1924 +05:30:00"),
]

# statsd: (seed name, option bits, ticker interval, datagrams separated by NUL bytes); lines
# from Heka's statsd_input_test.go and statsd's own protocol.
STATSD = [
    ("heka_kinds", 0, 10, b"sample.gauge:123|g\nsample.count:303|c\nsample.timer:1234|ms\nx:1|h\nx:1|m"),
    ("sample_rates", 0, 1, b"x:123|c|@0.9\x00x:1234|ms|@0.5\x00x:1|cs|@0.5\x00x:5|g|@0.1"),
    ("statsd_semantics", 1, 10, b"g:10|g\ng:+5|g\ng:-2.5|g\nu:alice|s\nu:bob|s\nu:alice|s"),
    ("legacy_fields", 2 | 12, 10, b"hits:1|c\nhits:2|c|@0.5\x00lat:3|ms\nlat:1.5|ms\nlat:7|ms"),
    ("bad_lines", 1 | 16 | 32, 3, b"foo.bar.baz:\nfoo.bar.baz|\nx:1|x\n \t\nx:1|c|@abc\nx:1|c|@0\n:1|c\nx:|c"),
    ("numbers", 4, 7, b"a:inf|c\nb:NaN|ms\nc:1e400|g\nd:-0|ms\ne:0x10|c\nf:+.5e1|c"),
]


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    assert len(data) <= 4096, (name, len(data))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "testdata", "heka")
    testdata = sys.argv[1] if len(sys.argv) > 1 else default
    with open(os.path.join(testdata, "protobuf.log"), "rb") as f:
        pb = [shrink(m) for _, m in frames(f.read())]
    with open(os.path.join(testdata, "multi.dat"), "rb") as f:
        multi = [m for _, m in frames(f.read())]

    dec = os.path.join(here, "message_decode")
    for i, m in enumerate(pb):
        write(dec, f"protobuf_log_{i}", m)
    write(dec, "multi_dat_0", multi[0])

    fr = os.path.join(here, "framing")
    # Control bytes: max size selector, largest chunk - 1, chunk seed (see framing.rs).
    write(fr, "unsigned_3", b"\x00\x3f\x07" + b"".join(frame(m) for m in pb[:3]))
    write(fr, "multi_dat_3", b"\x00\x00\x01" + b"".join(frame(m) for m in multi[:3]))
    signed = frame(pb[3], (b"test", 1, "md5", b"xxx")) + frame(pb[4], (b"ops", 3, "sha1", b"secret"))
    write(fr, "signed_md5_sha1", b"\x00\x10\x05" + signed)
    bad_sig = frame(multi[1], (b"test", 1, "md5", b"wrong")) + frame(multi[2], (b"nobody", 9, "sha1", b"x"))
    write(fr, "signed_rejected", b"\x00\x80\x03" + bad_sig)
    garbage = b"junk\x1e\x05\xff\xff\xff\xff\xff\x1fmore\x1e\x01\x00" + frame(pb[5]) + frame(pb[6])[:40]
    write(fr, "garbage_and_partial", b"\x00\x05\x09" + garbage)
    # Selector 4 is a 64-byte limit: the first record is too long, the second fits.
    write(fr, "too_long", b"\x04\x20\x02" + frame(multi[3]) + frame(b"\x0a\x00\x10\x00"))

    mat = os.path.join(here, "matcher_parse")
    for i, e in enumerate(EXPRESSIONS):
        write(mat, f"expr_{i:02}", e.encode())

    sp = os.path.join(here, "splitters")
    # Framing setups 0-3 (default, signers, at most 1025-byte messages with signers,
    # skip_authentication).
    signed = frame(pb[3], (b"test", 1, "md5", b"xxx")) + frame(pb[4], (b"ops", 3, "sha1", b"secret"))
    write(sp, "framing_unsigned", b"\x00\x3f\x07" + b"".join(frame(m) for m in multi[:3]))
    write(sp, "framing_signed", b"\x01\x10\x05" + signed + frame(multi[4]))
    long_payload = b"\x32" + varint(1100) + b"x" * 1100
    write(sp, "framing_small_max", b"\x02\x08\x02" + frame(long_payload) + frame(multi[5]))
    write(sp, "framing_skip_auth", b"\x03\x80\x03" + bad_sig + garbage[:20] + frame(multi[6]))
    for name, selector, chunk, seed, data in SPLITTER_TEXT:
        write(sp, name, bytes([selector, chunk, seed]) + data)

    pr = os.path.join(here, "payload_regex")
    for name, config, payload in PAYLOADS:
        write(pr, name, bytes([config]) + payload)

    sd = os.path.join(here, "structured_decoders")
    for name, config, payload in STRUCTURED:
        write(sd, name, bytes([config]) + payload)

    cl = os.path.join(here, "config_load")
    for name, text in CONFIGS.items():
        write(cl, name, text.encode())
    examples = os.path.join(here, "..", "..", "examples")
    for entry in sorted(os.listdir(examples)):
        if entry.endswith(".toml"):
            with open(os.path.join(examples, entry), "rb") as f:
                write(cl, "example_" + entry[: -len(".toml")].replace("-", "_"), f.read())

    gt = os.path.join(here, "gotime")
    for name, zone, ts, layout, value in TIMES:
        data = bytes([zone]) + ts.to_bytes(8, "little", signed=True)
        write(gt, name, data + layout.encode() + b"\x00" + value.encode())

    st = os.path.join(here, "statsd")
    for name, bits, interval, datagrams in STATSD:
        write(st, name, bytes([bits, interval]) + datagrams)


if __name__ == "__main__":
    main()
