-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
stat_graph: graphs stats from StatAccumInput's heka.statmetric messages (which
need emit_in_fields = true): each configured stat is one column of a circular
buffer, and every message adds its values at its Fields[timestamp] (seconds).

Output (every ticker_interval): inject_payload("cbuf", <title>, ...), with
annotations first and alerts sent when anomaly_config is set.

Config:
- title (string, default "Stats"): the payload name.
- rows (uint, default 300), sec_per_row (uint, default 1).
- stats (string, required): space separated field names, e.g.
  "stats.counters.hits.count stats.counters.misses.count".
- stat_labels (string, required): one column name per stat, in order.
- stat_aggregation (string, default "sum"), stat_unit (string, default
  "count"): every column's aggregation and unit.
- anomaly_config (string, optional): see the anomaly module.
- preservation_version (uint, default 0).

    [stat-graph]
    type = "SandboxFilter"
    filename = "lua_filters/stat_graph.lua"
    ticker_interval = 10
    preserve_data = true
    message_matcher = "Type == 'heka.statmetric'"

    [stat-graph.config]
    title = "Hits and Misses"
    stats = "stats.counters.hits.count stats.counters.misses.count"
    stat_labels = "hits misses"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
require "string"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = read_config("title") or "Stats"
local rows = read_config("rows") or 300
local sec_per_row = read_config("sec_per_row") or 1
local stats_text = read_config("stats") or error("stats configuration must be specified")
local labels_text = read_config("stat_labels") or error("stat_labels configuration must be specified")
local aggregation = read_config("stat_aggregation") or "sum"
local unit = read_config("stat_unit") or "count"
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
annotation.set_prune(title, rows * sec_per_row * 1e9)

local function words(text)
    local list = {}
    for w in string.gmatch(text, "%S+") do list[#list + 1] = w end
    return list
end

local fields = words(stats_text)
local labels = words(labels_text)
if #fields ~= #labels then
    error("stats and stat_labels configuration must have the same number of items")
end

cbuf = circular_buffer.new(rows, #fields, sec_per_row)
for i, label in ipairs(labels) do
    cbuf:set_header(i, label, unit, aggregation)
    fields[i] = "Fields[" .. fields[i] .. "]"
end

function process_message()
    local seconds = read_message("Fields[timestamp]")
    if type(seconds) ~= "number" then return -1 end
    local ts = seconds * 1e9
    for col, field in ipairs(fields) do
        local v = read_message(field)
        if type(v) == "number" then cbuf:add(ts, col, v) end
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
