//! circular_buffer through real scripts: the text lua_sandbox's own tests expect, NaN and
//! infinity, deltas, statistics, errors, memory, preservation.

use crate::modules::testing::{Fixture, run, run_error, tick};
use crate::{Injection, Limits, Sandbox};

/// The header line of lua_sandbox's 3×3 test buffer, starting at `time`.
fn header3(time: i64) -> String {
    format!(
        "{{\"time\":{time},\"rows\":3,\"columns\":3,\"seconds_per_row\":1,\"column_info\":[\
         {{\"name\":\"Add_column\",\"unit\":\"count\",\"aggregation\":\"sum\"}},\
         {{\"name\":\"Set_column\",\"unit\":\"count\",\"aggregation\":\"sum\"}},\
         {{\"name\":\"Get_column\",\"unit\":\"count\",\"aggregation\":\"sum\"}}]}}\n"
    )
}

/// The header line of the 2×2 buffer with a sum and a min column.
fn header2() -> String {
    "{\"time\":0,\"rows\":2,\"columns\":2,\"seconds_per_row\":1,\"column_info\":[\
     {\"name\":\"Sum_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
     {\"name\":\"Min\",\"unit\":\"count\",\"aggregation\":\"min\"}]}\n"
        .to_string()
}

/// The 3×3 buffer and its `step(ts)`: add 1 to column 1, copy it into column 3, set column
/// 2 to 1.
const SETUP3: &str = r#"
local data = circular_buffer.new(3, 3, 1, ...)
local ADD = data:set_header(1, "Add column")
local SET = data:set_header(2, "Set column", "count")
local GET = data:set_header(3, "Get column", "count", "sum")
local function step(ts)
    if data:add(ts, ADD, 1) then
        data:set(ts, GET, data:get(ts, ADD))
    end
    data:set(ts, SET, 1)
end
"#;

#[test]
fn cbuf_output_advances_and_wraps() {
    let setup = SETUP3.replace("...", "false");
    let body = format!(
        "{setup}
        inject_payload('cbuf', '', data)
        for _, ts in ipairs({{0, 1e9, 1e9, 2e9, 2e9, 2e9}}) do step(ts) end
        inject_payload('cbuf', '', data)
        step(4e9)
        inject_payload('cbuf', '', data)
        step(10e9)
        inject_payload('cbuf', '', data)"
    );
    let p = run("circular_buffer", &body).unwrap();
    assert_eq!(
        p,
        vec![
            header3(0) + "nan\tnan\tnan\nnan\tnan\tnan\nnan\tnan\tnan\n",
            header3(0) + "1\t1\t1\n2\t1\t2\n3\t1\t3\n",
            // 4 s advanced two rows: row 3 s was cleared, 1 s fell off.
            header3(2) + "3\t1\t3\nnan\tnan\tnan\n1\t1\t1\n",
            // 10 s is more than the window ahead: everything cleared.
            header3(8) + "nan\tnan\tnan\nnan\tnan\tnan\n1\t1\t1\n",
        ]
    );
}

#[test]
fn cbufd_deltas_follow_lua_sandbox() {
    // Each step writes `#n` then the buffer's output, so empty deltas show as `#n` alone.
    let body = format!(
        "{}
        local cb = circular_buffer.new(2, 2, 1, true)
        local SUM = cb:set_header(1, 'Sum column')
        local MIN = cb:set_header(2, 'Min', 'count', 'min')
        local n = 0
        local function out(x, f)
            n = n + 1
            add_to_payload('#', n, '\\n', x:format(f))
            inject_payload()
        end
        for _, ts in ipairs({{0, 1e9, 1e9, 2e9, 2e9, 2e9}}) do step(ts) end
        out(data, 'cbuf')
        out(data, 'cbufd')
        out(data, 'cbuf')
        out(data, 'cbufd')
        if data:add(2e9, ADD, 0/0) then data:set(2e9, GET, data:get(2e9, ADD)) end
        out(data, 'cbufd')
        cb:set(0, SUM, 3) cb:set(0, MIN, 6) out(cb, 'cbufd')
        cb:set(0, SUM, 5) cb:set(0, MIN, 5) out(cb, 'cbufd')
        cb:add(0, SUM, 3) cb:add(0, MIN, 3) out(cb, 'cbufd')
        cb:add(0, SUM, 1) cb:set(0, SUM, 0/0) cb:add(0, MIN, 1) out(cb, 'cbufd')
        cb:add(0, SUM, 1) cb:add(0, SUM, 0/0) cb:add(0, MIN, 1) out(cb, 'cbufd')
        cb:add(0, SUM, 1) cb:set(0, MIN, 0/0) out(cb, 'cbufd')
        cb:add(0, SUM, 1) cb:set(0, MIN, 9) cb:add(0, MIN, 0/0) out(cb, 'cbufd')
        cb:set(0, SUM, 0) cb:set(0, MIN, 0) out(cb, 'cbufd')
        cb:add(0, SUM, 0) cb:add(0, MIN, 0) out(cb, 'cbufd')
        cb:fromstring('1 1 1 2 3 4 0 3 4') out(cb, 'cbufd')
        data:set(0, ADD, 1/0) data:set(0, ADD, 1/0) data:set(0, SET, -1/0) data:add(0, SET, 1)
        data:set(0, GET, data:get(0, ADD))
        out(data, 'cbufd')",
        SETUP3.replace("...", "true")
    );
    let p = run("circular_buffer", &body).unwrap();
    let full = header3(0) + "1\t1\t1\n2\t1\t2\n3\t1\t3\n";
    let expected = [
        full.clone(),
        // Rows in Lua's `next` order over {[0]=…, [1]=…, [2]=…}: the array part first.
        header3(0) + "1\t2\t1\t2\n2\t3\t1\t3\n0\t1\t1\t1\n",
        full,
        String::new(),
        header3(0) + "2\tnan\tnan\tnan\n",
        header2() + "0\t3\t6\n",
        header2() + "0\t2\t5\n",
        header2() + "0\t3\t8\n",
        header2() + "0\tnan\t9\n",
        header2() + "0\tnan\t10\n",
        header2() + "0\t1\tnan\n",
        header2() + "0\t1\tnan\n",
        header2() + "0\t-2\t0\n",
        String::new(),
        header2() + "0\t3\t4\n",
        header3(0) + "0\tinf\t-inf\tinf\n",
    ];
    let expected: Vec<String> = expected
        .iter()
        .enumerate()
        .map(|(i, e)| format!("#{}\n{e}", i + 1))
        .collect();
    assert_eq!(p, expected);
}

#[test]
fn get_set_add_and_the_window() {
    let p = run(
        "circular_buffer",
        "require 'table'
        local cb = circular_buffer.new(2, 1, 1)
        local nan = cb:get(0, 1)
        add_to_payload(nan ~= nan, ' ', cb:current_time(), ' ', cb:set(0, 1, 1), ' ')
        add_to_payload(cb:add(0, 1, 0/0), ' ', cb:get(10e9, 1), ' ', cb:add(0.5e9, 1, 2), ' ')
        cb:set(20e9, 1, 1)
        add_to_payload(cb:get(10e9, 1), ' ', cb:current_time(), ' ', cb:get(19.9e9, 1), ' ')
        add_to_payload(cb:add(-5e9, 1, 1), ' ', cb:get_configuration())
        local w = circular_buffer.new(10, 1, 60)
        add_to_payload(' ', w:set_header(1, 'widget/s *x', 'ms/req*ab', 'max'), ' ')
        add_to_payload(table.concat({w:get_header(1)}, ','), ' ')
        w:set_header(1, 'a very long column name', 'kilobytes', 'none')
        add_to_payload(table.concat({w:get_header(1)}, ','))
        inject_payload()",
    )
    .unwrap();
    assert_eq!(
        p,
        vec![
            "true 1000000000 1 nan nil 2 nil 20000000000 nan nil 211 1 \
             widget_s__x,ms/req*,max a_very_long_col,kilobyt,none"
        ]
    );
}

#[test]
fn compute_skips_nan_rows() {
    let p = run(
        "circular_buffer",
        "local s = circular_buffer.new(5, 1, 1)
        for i = 1, 4 do s:set(i * 1e9, 1, i) end
        for _, f in ipairs({'sum', 'avg', 'variance', 'sd', 'min', 'max'}) do
            local v, n = s:compute(f, 1)
            add_to_payload(f, '=', v, '/', n, ' ')
        end
        add_to_payload(s:compute('sum', 1, 3e9, 4e9), ' ', s:compute('sd', 1, 3e9, 4e9), ' ')
        add_to_payload(s:compute('sum', 1, 3e9), ' ', s:compute('sum', 1, nil, 2e9), ' ')
        add_to_payload(select('#', s:compute('sum', 1, 11e9, 14e9)), ' ')
        add_to_payload(s:compute('sum', 1, 11e9, 14e9), '\\n')
        local gaps = circular_buffer.new(4, 1, 1)
        gaps:set(1e9, 1, 0/0) gaps:set(2e9, 1, 8) gaps:set(3e9, 1, 8)
        add_to_payload(gaps:compute('avg', 1), ' ')
        local empty = circular_buffer.new(4, 1, 1)
        for _, f in ipairs({'sum', 'avg', 'variance', 'sd', 'min', 'max'}) do
            local v, n = empty:compute(f, 1)
            add_to_payload(f, '=', v, '/', n, ' ')
        end
        local neg = circular_buffer.new(2, 1, 1)
        neg:set(0, 1, -3) neg:set(1e9, 1, -1)
        add_to_payload(neg:compute('min', 1), ' ', neg:compute('max', 1))
        inject_payload()",
    )
    .unwrap();
    assert_eq!(
        p,
        vec![
            "sum=10/4 avg=2.5/4 variance=1.25/4 sd=1.11803399/4 min=1/4 max=4/4 \
             7 0.5 7 3 2 nil\n\
             8 sum=0/0 avg=nan/0 variance=nan/0 sd=nan/0 min=nan/0 max=nan/0 \
             -3 nan2"
        ]
    );
}

/// 40 samples from lua_sandbox's Mann-Whitney tests (the last is replaced for the tie test).
const SAMPLES: &str = "{15309,14092,13661,13412,14205,15042,14142,13820,14917,13953,14320,\
    14472,15133,13790,14539,14129,14363,14202,13841,13610,13759,14428,14851,13838,13819,14468,\
    14989,15557,14380,13500,14818,14632,13631,14663,14532,14188,14537,14109,13925,15022}";

#[test]
fn mannwhitneyu_u_and_p() {
    let body = format!(
        "local data = {SAMPLES}
        local function test(last, ...)
            local cb = circular_buffer.new(40, 1, 1)
            for i, v in ipairs(data) do cb:set(i * 1e9, 1, v) end
            if last then cb:set(40e9, 1, last) end
            local u, p = cb:mannwhitneyu(1, 1e9, 20e9, 21e9, 40e9, ...)
            add_to_payload(u, ' ', math.floor(p * 100000), ' ')
        end
        test(nil)
        test(nil, false)
        test(15309)
        local same = circular_buffer.new(10, 1, 1)
        for i = 1, 10 do same:set(i * 1e9, 1, 1) end
        add_to_payload(select('#', same:mannwhitneyu(1, 1e9, 5e9, 6e9, 10e9)), ' ')
        local empty = circular_buffer.new(20, 1, 1)
        add_to_payload(select('#', empty:mannwhitneyu(1, 0, 9e9, 10e9, 19e9)), ' ')
        add_to_payload(select('#', empty:mannwhitneyu(1, 41e9, 60e9, 61e9, 80e9)))
        inject_payload()"
    );
    let p = run("circular_buffer", &body).unwrap();
    assert_eq!(p, vec!["171 22037 171 21638 168.5 20084 0 0 0"]);
}

#[test]
fn errors_are_lua_sandboxs() {
    let cases = [
        (
            "circular_buffer.new(1, 1, 1)",
            "bad argument #1 to 'new' (rows must be > 1)",
        ),
        (
            "circular_buffer.new(2, 0, 1)",
            "bad argument #2 to 'new' (columns must be > 0)",
        ),
        (
            "circular_buffer.new(2, 1, 0)",
            "bad argument #3 to 'new' (seconds_per_row is out of range)",
        ),
        (
            "circular_buffer.new(2, 1)",
            "bad argument #0 to 'new' (incorrect number of arguments)",
        ),
        (
            "circular_buffer.new('x', 1, 1)",
            "bad argument #1 to 'new' (number expected, got string)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:add(0, 2, 1)",
            "bad argument #2 to 'add' (column out of range)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:get(0, 0)",
            "bad argument #2 to 'get' (column out of range)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:set(0, 1)",
            "bad argument #-1 to 'set' (incorrect number of arguments)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:set(0, 1, {})",
            "bad argument #3 to 'set' (number expected, got table)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb.add(1, 0, 1, 1)",
            "bad argument #1 to 'add' (lsb.circular_buffer expected, got number)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:set_header(1, 'x', 'u', 'avg')",
            "bad argument #4 to 'set_header' (invalid option 'avg')",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:compute('median', 1)",
            "bad argument #1 to 'compute' (invalid option 'median')",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:compute('sum', 1, 2e9, 1e9)",
            "bad argument #4 to 'compute' (end must be >= start)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:format('json')",
            "bad argument #1 to 'format' (invalid option 'json')",
        ),
        (
            "local cb = circular_buffer.new(9, 1, 1) cb:mannwhitneyu(1, 1e9, 5e9, 4e9, 8e9)",
            "bad argument #3 to 'mannwhitneyu' (ranges must not overlap)",
        ),
        (
            "local cb = circular_buffer.new(9, 1, 1) cb:mannwhitneyu(1, 1e9, 2e9, 4e9, 8e9, 1)",
            "bad argument #6 to 'mannwhitneyu' (use_continuity must be a boolean)",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:fromstring('0 0 1')",
            "fromstring() too few values: 1, expected 2",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:fromstring('0 0 1 2 3')",
            "fromstring() too many values, more than: 2",
        ),
        (
            "local cb = circular_buffer.new(2, 1, 1) cb:fromstring('0 5 1 2')",
            "fromstring() invalid time or row",
        ),
    ];
    for (script, message) in cases {
        assert_eq!(
            run_error("circular_buffer", script),
            format!("script.lua:5: {message}"),
            "{script}"
        );
    }
    // A delta whose rows are cut short is refused (lua_sandbox raised it without a place).
    let e = run(
        "circular_buffer",
        "local cb = circular_buffer.new(2, 1, 1, true) cb:fromstring('0 0 1 2 0')",
    )
    .unwrap_err();
    assert_eq!(e, "timer_event() fromstring() invalid delta");
}

#[test]
fn buffers_count_against_the_memory_limit() {
    let f = Fixture::new();
    let mut s = f.settings(
        "require 'circular_buffer'
        function timer_event(ns)
            local cb = circular_buffer.new(ns, 100, 1)
            inject_payload('txt', '', 'ok')
        end",
    );
    s.limits = Limits {
        memory: 400_000,
        ..Limits::default()
    };
    let mut sb = Sandbox::start(s).unwrap();
    assert_eq!(tick(&mut sb, 10).unwrap(), vec!["ok"]);
    assert_eq!(
        tick(&mut sb, 1000).unwrap_err(),
        "timer_event() not enough memory"
    );
    // Absurd sizes fail the same way even without a limit.
    let mut sb = f.start(
        "require 'circular_buffer'
        function timer_event() circular_buffer.new(2000000000, 2000000000, 1) end",
    );
    assert_eq!(
        tick(&mut sb, 0).unwrap_err(),
        "timer_event() not enough memory"
    );
}

#[test]
fn a_buffer_is_a_bytes_field_of_an_injected_message() {
    let f = Fixture::new();
    let mut sb = f.start(
        "require 'circular_buffer'
        local cb = circular_buffer.new(2, 1, 60)
        function timer_event(ns)
            cb:set(60e9, 1, 1.5)
            inject_message({Type = 'cbuf', Fields = {data = {value = cb, representation = 'x'}}})
            inject_message({Fields = {plain = cb}})
        end",
    );
    let injected = sb.timer_event(0, crate::InjectBudget::Unlimited).unwrap();
    let text = "{\"time\":0,\"rows\":2,\"columns\":1,\"seconds_per_row\":60,\"column_info\":[\
                {\"name\":\"Column_1\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}\nnan\n1.5\n";
    assert_eq!(injected.len(), 2);
    for (i, name) in injected.iter().zip(["data", "plain"]) {
        let Injection::Message { message, .. } = i else {
            panic!("not a message: {i:?}");
        };
        let field = message.fields.iter().find(|f| f.name == name).unwrap();
        assert_eq!(
            field.value_type,
            Some(heka_message::ValueType::Bytes as i32)
        );
        assert_eq!(field.value_bytes, vec![bytes::Bytes::from(text)]);
    }
}

#[test]
fn preserved_and_restored() {
    let f = Fixture::new();
    let data = f.path("preserve/filter.data");
    let script = "require 'circular_buffer'
        data = circular_buffer.new(3, 2, 60, true)
        data:set_header(1, 'Requests')
        data:set_header(2, 'Peak ms', 'ms', 'max')
        holder = {cb = data}
        function timer_event(ns)
            if ns > 0 then
                data:add(ns, 1, 1)
                data:set(ns, 2, ns / 1e9)
            else
                add_to_payload(rawequal(holder.cb, data), '\\n', data:format('cbufd'))
                add_to_payload(data:format('cbuf'))
                inject_payload()
            end
        end";
    let settings = || {
        let mut s = f.settings(script);
        s.preservation = Some(data.clone());
        s
    };
    let mut sb = Sandbox::start(settings()).unwrap();
    tick(&mut sb, 120_000_000_000).unwrap();
    sb.stop().unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    let cbuf = "if _G[\"data\"] == nil then _G[\"data\"] = circular_buffer.new(3, 2, 60, true) end\n\
        _G[\"data\"]:set_header(1, \"Requests\", \"count\", \"sum\")\n\
        _G[\"data\"]:set_header(2, \"Peak_ms\", \"ms\", \"max\")\n\
        _G[\"data\"]:fromstring(\"120 2 nan nan nan nan 1 120 120 1 120\")\n";
    let reference = "_G[\"holder\"][\"cb\"] = _G[\"data\"]\n";
    let reversed = cbuf.replace("_G[\"data\"]", "_G[\"holder\"][\"cb\"]");
    assert!(
        (text.contains(cbuf) && text.contains(reference))
            || (text.contains(&reversed)
                && text.contains("_G[\"data\"] = _G[\"holder\"][\"cb\"]\n")),
        "{text}"
    );
    let mut sb = Sandbox::start(settings()).unwrap();
    let header = "{\"time\":0,\"rows\":3,\"columns\":2,\"seconds_per_row\":60,\"column_info\":[\
        {\"name\":\"Requests\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
        {\"name\":\"Peak_ms\",\"unit\":\"ms\",\"aggregation\":\"max\"}]}\n";
    assert_eq!(
        tick(&mut sb, 0).unwrap(),
        vec![format!(
            "true\n{header}120\t1\t120\n{header}nan\tnan\nnan\tnan\n1\t120\n"
        )]
    );
}

#[test]
fn hostile_values_are_errors_or_nil_never_panics() {
    // Each line must either run or fail with a Lua error; none may bring the host down.
    let lines = [
        "local cb = circular_buffer.new(2, 1, 2147483647) cb:add(1e300, 1, 1) add_to_payload(cb)",
        "local cb = circular_buffer.new(3, 2, 1) cb:set(-1e300, 1, 1) cb:add(0/0, 2, 1/0)",
        "local cb = circular_buffer.new(3, 1, 1) cb:fromstring('-9223372036854775808 2 1 2 3') \
         cb:add(0, 1, 1) cb:compute('sd', 1) add_to_payload(cb)",
        "local cb = circular_buffer.new(3, 1, 1) cb:fromstring('9223372036854775807 0 1 2 3') \
         cb:set(1e19, 1, 1) add_to_payload(cb)",
        "local cb = circular_buffer.new(9, 1, 1) cb:mannwhitneyu(1, 0/0, 0/0, 0/0, 0/0)",
        "local cb = circular_buffer.new(9, 1, 1) cb:compute('avg', 1, -1/0, 1/0)",
        "circular_buffer.new(2147483647, 2147483647, 1)",
        "circular_buffer.new(-5, 1e12, 1)",
        "local cb = circular_buffer.new(2, 1, 1) cb:fromstring(string.rep('9', 5000))",
        "local cb = circular_buffer.new(2, 1, 1, true) cb:fromstring('0 0 1 2 1e300 5 -1e300 7')",
    ];
    for line in lines {
        let _ = run("circular_buffer", &format!("{line}\ninject_payload()"));
    }
}
