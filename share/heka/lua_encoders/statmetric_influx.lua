-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Turns the `heka.statmetric` messages of a StatAccumInput with
`emit_in_fields = true` into JSON for InfluxDB's 0.8 HTTP API: one series per
stat, named after its field, with one point [timestamp * 1000, value].

Config:

<none>

Example:

    [statmetric-influx-encoder]
    type = "SandboxEncoder"
    filename = "lua_encoders/statmetric_influx.lua"

Output:

    [{"points":[[1408404848000,78271]],"name":"stats.counters.000000.rate","columns":["time","value"]}]

A message without a numeric `timestamp` field fails (-1); bytes fields are
left out.

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "cjson"
require "table"

function process_message()
    local ts = tonumber(read_message("Fields[timestamp]"))
    if not ts then return -1 end
    ts = ts * 1000
    local msg = decode_message(read_message("raw"))
    local series = {}
    for _, f in ipairs(msg.Fields or {}) do
        if f.name ~= "timestamp" and f.value_type ~= 1 and f.value[1] ~= nil then
            series[#series + 1] = '{"points":[' .. cjson.encode({ ts, f.value[1] }) .. '],"name":'
                .. cjson.encode(f.name) .. ',"columns":["time","value"]}'
        end
    end
    local json = "{}" -- what Heka's cjson made of an empty list
    if #series > 0 then json = "[" .. table.concat(series, ",") .. "]" end
    inject_payload("json", "influx_stats", json)
    return 0
end
