-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
cbufd_aggregator: adds up the circular buffer deltas ("cbufd" payloads) that
several instances of the same filter send (one per host, say) into one
circular buffer per payload name: the host view becomes the data centre view,
and so on up.

The first delta of a payload name gives the buffer its rows, columns, seconds
per row and column headers. A column aggregated with "sum" adds the deltas'
values; "min" and "max" columns take the latest value; "none" columns and
"nan" cells are skipped. A payload that is not cbufd text fails with -1.

Output (every ticker_interval), for each payload name:
inject_payload("cbuf", <payload name>, ...) (annotations first when
anomaly_config is set), and with enable_delta also
inject_payload("cbufd", <payload name>, <the changes since the last tick>).
Anomaly findings are sent as one alert.

Config:
- enable_delta (bool, default false)
- anomaly_config (string, optional): see the anomaly module.
- preservation_version (uint, default 0)

    [TelemetryServerMetricsAggregator]
    type = "SandboxFilter"
    message_matcher = "Logger == 'TelemetryServerMetrics' && Fields[payload_type] == 'cbufd'"
    ticker_interval = 60
    filename = "lua_filters/cbufd_aggregator.lua"
    preserve_data = true

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

local cbufd = require "cbufd"
require "circular_buffer"
require "cjson"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local enable_delta = read_config("enable_delta") or false
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))

-- payload name -> circular buffer (the layout Heka's preserved files have)
cbufs = {}

local function create(name, data)
    local ok, h = pcall(cjson.decode, data.header)
    if not ok or type(h) ~= "table" or type(h.column_info) ~= "table" then return nil end
    local ok2, cb = pcall(circular_buffer.new, h.rows, h.columns, h.seconds_per_row, enable_delta)
    if not ok2 then return nil end
    for col, info in ipairs(h.column_info) do
        cb:set_header(col, info.name, info.unit, info.aggregation)
    end
    annotation.set_prune(name, h.rows * h.seconds_per_row * 1e9)
    cbufs[name] = cb
    return cb
end

function process_message()
    local data = cbufd.grammar:match(read_message("Payload") or "")
    if not data then return -1 end
    local name = read_message("Fields[payload_name]") or ""
    local cb = cbufs[name] or create(name, data)
    if not cb then return -1 end

    local _, columns = cb:get_configuration()
    for _, row in ipairs(data) do
        for col, v in ipairs(row) do
            if col <= columns and v == v then
                local _, _, aggregation = cb:get_header(col)
                if aggregation == "sum" then
                    cb:add(row.time, col, v)
                elseif aggregation == "min" or aggregation == "max" then
                    cb:set(row.time, col, v)
                end
            end
        end
    end
    return 0
end

function timer_event(ns)
    -- format() sets how the buffer is written from then on, so each output
    -- names its format.
    for name, cb in pairs(cbufs) do
        if anomaly_config then
            if not alert.throttled(ns) then
                local msg, annotations = anomaly.detect(ns, name, cb, anomaly_config)
                if msg then
                    alert.queue(ns, msg)
                    annotation.concat(name, annotations)
                end
            end
            inject_payload("cbuf", name, annotation.prune(name, ns), cb:format("cbuf"))
        else
            inject_payload("cbuf", name, cb:format("cbuf"))
        end
        if enable_delta then
            inject_payload("cbufd", name, cb:format("cbufd"))
        end
    end
    alert.send_queue(ns)
end
