-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
loadavg: graphs the load averages and process count from the linux_loadavg
decoder's messages (Fields 1MinAvg, 5MinAvg, 15MinAvg and NumProcesses, all
required numbers; a message missing one fails with -1).

Output (every ticker_interval): inject_payload("cbuf", "LoadAvg Stats", ...),
columns in that order (unit "Count", each row keeping the largest value), with
annotations first and alerts sent when anomaly_config is set.

Config: sec_per_row (uint, default 60), rows (uint, default 1440),
anomaly_config (string, optional), preservation_version (uint, default 0).

    [LoadAvgFilter]
    type = "SandboxFilter"
    filename = "lua_filters/loadavg.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Type == 'stats.loadavg'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = "LoadAvg Stats"
local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
annotation.set_prune(title, rows * sec_per_row * 1e9)

local names = {"1MinAvg", "5MinAvg", "15MinAvg", "NumProcesses"}
cbuf = circular_buffer.new(rows, #names, sec_per_row)
local fields = {}
for i, name in ipairs(names) do
    cbuf:set_header(i, name, "Count", "max")
    fields[i] = "Fields[" .. name .. "]"
end

function process_message()
    local ts = read_message("Timestamp")
    for col, field in ipairs(fields) do
        local v = read_message(field)
        if type(v) ~= "number" then return -1 end
        cbuf:set(ts, col, v)
    end
    return 0
end

function timer_event(ns)
    if not anomaly_config then
        inject_payload("cbuf", title, cbuf)
        return
    end
    if not alert.throttled(ns) then
        local msg, annotations = anomaly.detect(ns, title, cbuf, anomaly_config)
        if msg then
            annotation.concat(title, annotations)
            alert.send(ns, msg)
        end
    end
    inject_payload("cbuf", title, annotation.prune(title, ns), cbuf)
end
