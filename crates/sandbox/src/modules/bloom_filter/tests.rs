//! bloom_filter through real scripts: lua_sandbox's counting and preservation test, errors.

use crate::modules::testing::{Fixture, restart, run, run_error};

/// `timer_event(n)`: n ≥ 0 adds n unless present; -1 reports the count; -2 clears.
const SCRIPT: &str = "require 'bloom_filter'
bf = bloom_filter.new(20, 0.01)
function timer_event(n)
    if n == -1 then
        inject_payload('txt', '', bf:count())
    elseif n == -2 then
        bf:clear()
    elseif not bf:query(n) then
        if not bf:add(n) then error('key existed') end
    end
end";

#[test]
fn counts_survive_a_restart_and_clear_resets() {
    let f = Fixture::new();
    let (p, data) = restart(
        &f,
        SCRIPT,
        &[0, -1, 1, -1, 2, -1, 0, -1],
        &[-1, 0, 1, 2, -1, -2, 0, -1],
    );
    assert_eq!(p, ["1", "2", "3", "3", "3", "3", "1"]);
    let text = String::from_utf8_lossy(&data);
    assert!(
        text.contains(
            "if _G[\"bf\"] == nil then _G[\"bf\"] = bloom_filter.new(20, 0.01) end\n\
             _G[\"bf\"]:fromstring(3, \""
        ),
        "{text}"
    );
    // 20 items at 1%: 192 bits, 7 hashes. The bits of keys 0, 1 and 2 as lua_sandbox's C
    // module set them (computed with its xxHash and bit arithmetic):
    let start = text.find("fromstring(3, \"").unwrap() + "fromstring(3, \"".len();
    let want: Vec<u8> = (0..24)
        .map(|i| {
            u8::from_str_radix(
                &"000080040800c00028000800000414008000206208008400"[2 * i..2 * i + 2],
                16,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(&data[start..start + 24], want.as_slice());
    assert!(data[start + 24..].starts_with(b"\")\n"));
}

#[test]
fn keys_are_strings_or_numbers() {
    let p = run(
        "bloom_filter",
        "local bf = bloom_filter.new(1000, 0.001)
        add_to_payload(bf:add('a'), bf:add('a'), bf:query('a'), bf:query('b'), ' ')
        add_to_payload(bf:add(1), bf:query('1'), bf:query(1), ' ', bf:count())
        inject_payload()",
    )
    .unwrap();
    assert_eq!(p, ["truefalsetruefalse truefalsetrue 2"]);
}

#[test]
fn errors() {
    let cases = [
        (
            "bloom_filter.new(1, 0.01)",
            "bad argument #1 to 'new' (items must be > 1)",
        ),
        (
            "bloom_filter.new(10, 1)",
            "bad argument #2 to 'new' (probability must be between 0 and 1)",
        ),
        (
            "bloom_filter.new(10)",
            "bad argument #0 to 'new' (incorrect number of arguments)",
        ),
        (
            "bloom_filter.new(10, 0.1):add({})",
            "bad argument #1 to 'add' (must be a string or number)",
        ),
        (
            "bloom_filter.new(10, 0.1):count(1)",
            "bad argument #-1 to 'count' (incorrect number of arguments)",
        ),
        (
            "bloom_filter.new(10, 0.1):fromstring(1, 'x')",
            "fromstring() bytes found: 1, expected 6",
        ),
        ("bloom_filter.new(2000000000, 1e-300)", "not enough memory"),
    ];
    for (script, message) in cases {
        let e = run_error("bloom_filter", script);
        let want = if message == "not enough memory" {
            message.to_string()
        } else {
            format!("script.lua:5: {message}")
        };
        assert_eq!(e, want, "{script}");
    }
}

#[test]
fn hostile_values_are_errors_never_panics() {
    let lines = [
        "local bf = bloom_filter.new(10, 0.1) bf:fromstring(1e300, string.rep('x', 6)) bf:add('new')",
        "local bf = bloom_filter.new(10, 0.1) bf:fromstring(-1, string.rep('x', 6)) bf:count()",
        "bloom_filter.new(10, 0/0)",
        "bloom_filter.new(10, 0.9999999):add('x')",
        "bloom_filter.new(10, 1e-320):add('x')",
    ];
    for line in lines {
        let _ = run("bloom_filter", line);
    }
}
