//! cuckoo_filter through real scripts: lua_sandbox's counting, deletion and preservation
//! test, a full filter, errors.

use crate::modules::testing::{Fixture, restart, run, run_error};

/// `timer_event(n)`: n ≥ 0 adds n unless present; -1 reports the count; -2 deletes 1; -3
/// clears.
const SCRIPT: &str = "require 'cuckoo_filter'
cf = cuckoo_filter.new(16)
function timer_event(n)
    if n == -1 then
        inject_payload('txt', '', cf:count())
    elseif n == -2 then
        cf:delete(1)
    elseif n == -3 then
        cf:clear()
    elseif not cf:query(n) then
        if not cf:add(n) then error('key existed') end
    end
end";

#[test]
fn counts_deletes_and_survives_a_restart() {
    let f = Fixture::new();
    let (p, data) = restart(
        &f,
        SCRIPT,
        &[0, -1, 1, -1, 2, -1, 0, -1],
        &[-1, 0, 1, 2, -1, -2, -1, -3, -1],
    );
    assert_eq!(p, ["1", "2", "3", "3", "3", "3", "2", "0"]);
    let text = String::from_utf8_lossy(&data);
    assert!(
        text.contains(
            "if _G[\"cf\"] == nil then _G[\"cf\"] = cuckoo_filter.new(16) end\n\
             _G[\"cf\"]:fromstring(3, \""
        ),
        "{text}"
    );
}

#[test]
fn membership_and_a_full_filter() {
    let p = run(
        "cuckoo_filter",
        "local cf = cuckoo_filter.new(8)
        add_to_payload(cf:add('a'), cf:add('a'), cf:query('a'), cf:query('b'), ' ')
        add_to_payload(cf:delete('a'), cf:delete('a'), cf:query('a'), ' ')
        local added = 0
        for i = 1, 100 do if cf:add(i) then added = added + 1 end end
        add_to_payload(added, ' ', cf:count())
        inject_payload()",
    )
    .unwrap();
    // 8 items: 2 buckets of 4 fingerprints hold at most 8 keys.
    let parts: Vec<&str> = p[0].split(' ').collect();
    assert_eq!(&parts[..2], ["truefalsetruefalse", "truefalsefalse"]);
    let added: u32 = parts[2].parse().unwrap();
    assert!((1..=8).contains(&added), "{added}");
    assert_eq!(parts[3], parts[2]);
}

#[test]
fn errors() {
    let cases = [
        (
            "cuckoo_filter.new(4)",
            "bad argument #1 to 'new' (items must be > 4)",
        ),
        (
            "cuckoo_filter.new()",
            "bad argument #0 to 'new' (incorrect number of arguments)",
        ),
        (
            "cuckoo_filter.new(8):query(nil)",
            "bad argument #1 to 'query' (must be a string or number)",
        ),
        (
            "cuckoo_filter.new(8):fromstring(1, 'x')",
            "fromstring() bytes found: 1, expected 16",
        ),
    ];
    for (script, message) in cases {
        assert_eq!(
            run_error("cuckoo_filter", script),
            format!("script.lua:5: {message}"),
            "{script}"
        );
    }
}

#[test]
fn hostile_values_are_errors_never_panics() {
    let lines = [
        "local cf = cuckoo_filter.new(8) cf:fromstring(1e300, string.rep('x', 16)) cf:add('new')",
        "local cf = cuckoo_filter.new(8) cf:fromstring(0/0, string.rep('\\255', 16)) cf:delete('x')",
        "local cf = cuckoo_filter.new(5) for i = 1, 50 do cf:add(i) cf:delete(i + 1) end",
        "cuckoo_filter.new(2147483647)",
    ];
    for line in lines {
        let _ = run("cuckoo_filter", line);
    }
}
