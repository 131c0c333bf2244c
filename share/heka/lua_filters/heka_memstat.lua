-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
heka_memstat: graphs hekad's own memory from its heka.memstat messages
(Fields HeapSys, HeapAlloc, HeapIdle, HeapInuse, HeapReleased in bytes and
HeapObjects, each row keeping the largest value).

Output (every ticker_interval): inject_payload("cbuf", "Stats", ...), with
annotations first and alerts sent when anomaly_config is set.

Config: rows (uint, default 1440), sec_per_row (uint, default 60),
anomaly_config (string, optional), preservation_version (uint, default 0).

    [HekaMemstat]
    type = "SandboxFilter"
    filename = "lua_filters/heka_memstat.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Type == 'heka.memstat'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = "Stats"
local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
annotation.set_prune(title, rows * sec_per_row * 1e9)

local columns = {
    {"HeapSys", "B"}, {"HeapAlloc", "B"}, {"HeapIdle", "B"}, {"HeapInuse", "B"},
    {"HeapReleased", "B"}, {"HeapObjects", "count"},
}
stats = circular_buffer.new(rows, #columns, sec_per_row)
local fields = {}
for i, c in ipairs(columns) do
    stats:set_header(i, c[1], c[2], "max")
    fields[i] = "Fields[" .. c[1] .. "]"
end
columns = nil

function process_message()
    local ts = read_message("Timestamp")
    for col, field in ipairs(fields) do
        local v = read_message(field)
        if type(v) == "number" then stats:set(ts, col, v) end
    end
    return 0
end

function timer_event(ns)
    if not anomaly_config then
        inject_payload("cbuf", title, stats)
        return
    end
    if not alert.throttled(ns) then
        local msg, annotations = anomaly.detect(ns, title, stats, anomaly_config)
        if msg then
            annotation.concat(title, annotations)
            alert.send(ns, msg)
        end
    end
    inject_payload("cbuf", title, annotation.prune(title, ns), stats)
end
