-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
diskstats: graphs the linux_diskstats decoder's messages (/proc/diskstats of
one device), one row per Fields[TickerInterval] seconds.

Two graphs (every ticker_interval, once a message arrived):
- "Disk Stats": WritesCompleted, ReadsCompleted, SectorsWritten, SectorsRead,
  WritesMerged, ReadsMerged as the change since the previous message (unit
  per_<TickerInterval>_s, aggregation none; the first message only primes).
- "Time doing IO": TimeWriting, TimeReading, TimeDoingIO, WeightedTimeDoingIO
  as read (ms, each row keeping the largest value).
Every field must be a number (else -1). With anomaly_config, annotations
precede each graph and the findings are sent as one alert.

Config: rows (uint, default 1440), anomaly_config (string, optional).

    [DiskStatsFilter]
    type = "SandboxFilter"
    filename = "lua_filters/diskstats.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Type == 'stats.diskstats'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

require "circular_buffer"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local rows = read_config("rows") or 1440
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))

-- The geometry the buffers were made with (preserved, so that a change of
-- rows or TickerInterval makes them again).
last_run = {rows = nil, sec_per_row = nil}

-- The layout Heka's preserved files have: per graph its title, field names,
-- "Fields[...]" keys, unit, aggregation, buffer and (for the counters) the
-- previous values.
stats = {
    {title = "Disk Stats", unit = "", aggregation = "none", cbuf = nil, last_value = {},
     fields = {"WritesCompleted", "ReadsCompleted", "SectorsWritten", "SectorsRead",
               "WritesMerged", "ReadsMerged"}},
    {title = "Time doing IO", unit = "ms", aggregation = "max", cbuf = nil,
     fields = {"TimeWriting", "TimeReading", "TimeDoingIO", "WeightedTimeDoingIO"}},
}
for _, stat in ipairs(stats) do
    stat.msg_fields = {}
    for i, name in ipairs(stat.fields) do stat.msg_fields[i] = "Fields[" .. name .. "]" end
end

local function make(stat, sec_per_row)
    local cb = circular_buffer.new(rows, #stat.fields, sec_per_row)
    for i, name in ipairs(stat.fields) do
        cb:set_header(i, name, stat.unit, stat.aggregation)
    end
    annotation.set_prune(stat.title, rows * sec_per_row * 1e9)
    stat.cbuf = cb
    last_run.rows = rows
    last_run.sec_per_row = sec_per_row
end

function process_message()
    local ts = read_message("Timestamp")
    local sec_per_row = read_message("Fields[TickerInterval]")
    if type(sec_per_row) ~= "number" then return -1 end
    local changed = rows ~= last_run.rows or sec_per_row ~= last_run.sec_per_row

    local times = stats[2]
    if not times.cbuf or changed then make(times, sec_per_row) end
    local counters = stats[1]
    if not counters.cbuf or changed then
        counters.unit = "per_" .. sec_per_row .. "_s"
        make(counters, sec_per_row)
    end

    for col, field in ipairs(times.msg_fields) do
        local v = read_message(field)
        if type(v) ~= "number" then return -1 end
        times.cbuf:set(ts, col, v)
    end
    for col, field in ipairs(counters.msg_fields) do
        local v = read_message(field)
        if type(v) ~= "number" then return -1 end
        counters.last_value = counters.last_value or {}
        local last = counters.last_value[col]
        if last then counters.cbuf:set(ts, col, v - last) end
        counters.last_value[col] = v
    end
    return 0
end

function timer_event(ns)
    for _, stat in ipairs(stats) do
        local cb = stat.cbuf
        if cb then
            if anomaly_config then
                if not alert.throttled(ns) then
                    local msg, annotations = anomaly.detect(ns, stat.title, cb, anomaly_config)
                    if msg then
                        annotation.concat(stat.title, annotations)
                        alert.queue(ns, msg)
                    end
                end
                inject_payload("cbuf", stat.title, annotation.prune(stat.title, ns), cb)
            else
                inject_payload("cbuf", stat.title, cb)
            end
        end
    end
    alert.send_queue(ns)
end
