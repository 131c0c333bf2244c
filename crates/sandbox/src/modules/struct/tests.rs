//! struct through real scripts: every option, both byte orders, alignment, errors.

use crate::modules::testing::{run, run_error};

/// Runs `body`, which must `return` a string; the payload is that string in hex.
fn hex(body: &str) -> String {
    let script = format!(
        "local function f() {body} end
        local s = f()
        add_to_payload((string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)))
        inject_payload()"
    );
    run("struct", &script).unwrap().concat()
}

/// Runs `body`, whose values are written space-separated.
fn values(body: &str) -> String {
    let script = format!(
        "local t = {{ {body} }}
        for i = 1, select('#', {body}) do add_to_payload(tostring(t[i]), ' ') end
        inject_payload()"
    );
    run("struct", &script).unwrap().concat()
}

#[test]
fn pack_integers_and_floats() {
    assert_eq!(hex("return struct.pack('<i4', 7)"), "07000000");
    assert_eq!(hex("return struct.pack('>i4', 7)"), "00000007");
    assert_eq!(hex("return struct.pack('i', -2)"), "feffffff");
    assert_eq!(
        hex("return struct.pack('<bBhH', -1, 255, -2, 65535)"),
        "fffffeffffff"
    );
    assert_eq!(
        hex("return struct.pack('>lL', -1, 1)"),
        "ffffffffffffffff0000000000000001"
    );
    assert_eq!(hex("return struct.pack('<T', 258)"), "0201000000000000");
    assert_eq!(hex("return struct.pack('<i3', 0x010203)"), "030201");
    assert_eq!(hex("return struct.pack('>I10', 1)"), "00000000000000000001");
    assert_eq!(hex("return struct.pack('<f', 1.5)"), "0000c03f");
    assert_eq!(hex("return struct.pack('>d', 1.5)"), "3ff8000000000000");
    assert_eq!(hex("return struct.pack('<d', -0.0)"), "0000000000000080");
}

#[test]
fn pack_strings_padding_and_alignment() {
    assert_eq!(hex("return struct.pack('s', 'ab')"), "616200");
    assert_eq!(hex("return struct.pack('c2', 'abc')"), "6162");
    assert_eq!(hex("return struct.pack('c0', 'abc')"), "616263");
    assert_eq!(hex("return struct.pack('c', 'xyz')"), "78");
    assert_eq!(hex("return struct.pack('bxb', 1, 2)"), "010002");
    // Packed by default; `!` aligns each item to its size, up to the given maximum.
    assert_eq!(hex("return struct.pack('<bi', 1, 2)"), "0102000000");
    assert_eq!(hex("return struct.pack('<!bi', 1, 2)"), "0100000002000000");
    assert_eq!(hex("return struct.pack('<!2bi', 1, 2)"), "010002000000");
    assert_eq!(
        hex("return struct.pack('<!bd', 1, 0)"),
        "01000000000000000000000000000000"
    );
    // Strings are never aligned; spaces are ignored.
    assert_eq!(
        hex("return struct.pack('<! b c2 h', 1, 'ab', 3)"),
        "016162000300"
    );
}

#[test]
fn unpack_round_trips_and_returns_the_next_position() {
    assert_eq!(values("struct.unpack('<i4', '\\7\\0\\0\\0')"), "7 5 ");
    assert_eq!(
        values("struct.unpack('>bBhHlL', struct.pack('>bBhHlL', -1, 255, -300, 60000, -5, 2^40))"),
        "-1 255 -300 60000 -5 1099511627776 23 "
    );
    assert_eq!(
        values("struct.unpack('<fd', struct.pack('<fd', 0.25, -1e300))"),
        "0.25 -1e+300 13 "
    );
    assert_eq!(values("struct.unpack('sx s', 'ab\\0\\0cd\\0')"), "ab cd 8 ");
    assert_eq!(values("struct.unpack('Bc0', '\\3abcd')"), "abc 5 ");
    assert_eq!(values("struct.unpack('c2', 'abcdef', 3)"), "cd 5 ");
    assert_eq!(
        values("struct.unpack('<!bi', struct.pack('<!bi', 9, -9))"),
        "9 -9 9 "
    );
    assert_eq!(values("struct.unpack('<i3', '\\255\\255\\255')"), "-1 4 ");
    assert_eq!(
        values("struct.unpack('<I3', '\\255\\255\\255')"),
        "16777215 4 "
    );
    assert_eq!(values("struct.unpack('', 'abc', 4)"), "4 ");
}

#[test]
fn size_counts_alignment() {
    assert_eq!(values("struct.size('<i4')"), "4 ");
    assert_eq!(values("struct.size('bhlTfdxc3i2')"), "37 ");
    assert_eq!(values("struct.size('!bd')"), "16 ");
    assert_eq!(values("struct.size('!4bd')"), "12 ");
    assert_eq!(values("struct.size('zz')"), "0 ");
}

#[test]
fn errors() {
    let cases = [
        (
            "struct.pack('i40', 1)",
            "integral size 40 is larger than limit of 32",
        ),
        ("struct.pack('!3i', 1)", "alignment 3 is not a power of 2"),
        (
            "struct.pack('y', 1)",
            "bad argument #1 to 'pack' (invalid format option 'y')",
        ),
        (
            "struct.pack('i')",
            "bad argument #2 to 'pack' (number expected, got no value)",
        ),
        (
            "struct.pack('c5', 'abc')",
            "bad argument #3 to 'pack' (string too short)",
        ),
        (
            "struct.unpack('i4', 'abc')",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "struct.unpack('i', 'abcd', 6)",
            "bad argument #3 to 'unpack' (initial position out of string)",
        ),
        (
            "struct.unpack('i', 'abcd', 0)",
            "bad argument #3 to 'unpack' (initial position out of string)",
        ),
        ("struct.unpack('s', 'abc')", "unfinished string in data"),
        (
            "struct.unpack('c0', 'abc')",
            "format 'c0' needs a previous size",
        ),
        (
            "struct.unpack('Bc0', '\\9abc')",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "struct.size('s')",
            "bad argument #1 to 'size' (options 's' has no size)",
        ),
        (
            "struct.size('c0')",
            "bad argument #1 to 'size' (options 'c0' has no size)",
        ),
        (
            "struct.size({})",
            "bad argument #1 to 'size' (string expected, got table)",
        ),
    ];
    for (script, message) in cases {
        assert_eq!(
            run_error("struct", script),
            format!("script.lua:5: {message}"),
            "{script}"
        );
    }
}

#[test]
fn hostile_formats_are_errors_never_panics() {
    let lines = [
        "struct.pack('c99999999999999999999', 'x')",
        "struct.unpack('c99999999999999999999', 'x')",
        "struct.unpack('!99999999999999999999i', 'xxxx')",
        "struct.unpack('!1024 i32 I32 b', string.rep('x', 100))",
        "struct.unpack('>I32<i32', string.rep('\\255', 64))",
        "struct.size('c99999999999999999999 c99999999999999999999')",
        "struct.unpack('i', 'abcd', 1e300)",
        "struct.unpack('i', 'abcd', -1e300)",
        "struct.pack('i', 1e300) struct.pack('b', -1e300) struct.pack('I', 0/0)",
        "struct.unpack('Bc0', '\\255')",
        "struct.unpack('s\\0i', 'a\\0')",
    ];
    for line in lines {
        let _ = run("struct", line);
    }
}
