//! hyperloglog through real scripts: lua_sandbox's count of 100000 keys (which only the same
//! hash and estimator give), caching, preservation, output.

use crate::modules::testing::{Fixture, restart, run, run_error};

/// `timer_event(n)`: n > 0 adds 0..n-1; 0 reports the count; -1 clears.
const SCRIPT: &str = "require 'hyperloglog'
hll = hyperloglog.new()
function timer_event(n)
    if n > 0 then
        for i = 0, n - 1 do hll:add(i) end
    elseif n == 0 then
        inject_payload('txt', '', hll:count())
    else
        hll:clear()
    end
end";

#[test]
fn counts_like_lua_sandbox_and_survives_a_restart() {
    let f = Fixture::new();
    let (p, data) = restart(&f, SCRIPT, &[100_000, 0, 0], &[0, 100_000, 0, -1, 0]);
    assert_eq!(p, ["100070", "100070", "100070", "100070", "0"]);
    let want: &[u8] =
        b"\nif _G[\"hll\"] == nil then _G[\"hll\"] = hyperloglog.new() end\n_G[\"hll\"]:fromstring(\"HYLL";
    assert!(data.windows(want.len()).any(|w| w == want));
}

#[test]
fn small_counts_and_output() {
    let p = run(
        "hyperloglog",
        "local h = hyperloglog.new()
        add_to_payload(h:count(), ' ', h:add('a'), h:add('a'), ' ')
        for i = 1, 1000 do h:add('key' .. i) end
        add_to_payload(h:count())
        inject_payload()",
    )
    .unwrap();
    assert!(p[0].starts_with("0 truefalse "), "{}", p[0]);
    let count: f64 = p[0].split_whitespace().nth(2).unwrap().parse().unwrap();
    // HyperLogLog's standard error at 16384 registers is 0.8%.
    assert!((970.0..1030.0).contains(&count), "{count}");
    // Its output (here as a BYTES field) is the Redis object: magic, dense encoding, the
    // cached count once `count()` ran.
    let f = Fixture::new();
    let mut sb = f.start(
        "require 'hyperloglog'
        local h = hyperloglog.new()
        function timer_event()
            h:add('x')
            h:count()
            inject_message({Fields = {hll = h}})
        end",
    );
    let injected = sb.timer_event(0, crate::InjectBudget::Unlimited).unwrap();
    let crate::Injection::Message { message, .. } = &injected[0] else {
        panic!("{injected:?}");
    };
    let out = &message.fields[0].value_bytes[0];
    assert_eq!(out.len(), 16 + 12288);
    assert_eq!(&out[..16], b"HYLL\0\0\0\0\x01\0\0\0\0\0\0\0");
    assert_eq!(out.iter().skip(16).filter(|b| **b != 0).count(), 1);
}

#[test]
fn errors() {
    let cases = [
        (
            "hyperloglog.new(1)",
            "script.lua:5: bad argument #0 to 'new' (incorrect number of arguments)",
        ),
        (
            "hyperloglog.new():add(true)",
            "script.lua:5: bad argument #1 to 'add' (must be a string or number)",
        ),
        (
            "hyperloglog.new():fromstring('HYLL')",
            "script.lua:5: fromstring() bytes found: 4, expected 12304",
        ),
        (
            "hyperloglog.new():fromstring(string.rep('x', 12304))",
            "script.lua:5: fromstring() HYLL header not found",
        ),
    ];
    for (script, message) in cases {
        assert_eq!(run_error("hyperloglog", script), message, "{script}");
    }
}
