#!/usr/bin/env python3
"""Writes the fuzz seed files: framing and message_decode from Heka's recorded streams,
matcher_parse from expressions of Heka's matcher tests (message/message_matcher_test.go).

Usage (from the repository root, with the shared test data next to the repository):
    python3 fuzz/seeds/make_seeds.py ../shared/testdata/heka

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


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    assert len(data) <= 4096, (name, len(data))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    testdata = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
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


if __name__ == "__main__":
    main()
