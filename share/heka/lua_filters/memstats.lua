-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
memstats: graphs memory use from the linux_memstats decoder's messages
(/proc/meminfo): columns MemFree, Cached, Active, Inactive, VmallocUsed, Shmem,
SwapCached, SwapFree and SwapUsed (= Fields[SwapTotal] - Fields[SwapFree]),
unit "Count", each row keeping the largest value. A message missing one of
the fields fails with -1 (the columns before it are already set).

Output (every ticker_interval): inject_payload("cbuf", "Memory Stats", ...),
with annotations first and alerts sent when anomaly_config is set.

Config: sec_per_row (uint, default 60), rows (uint, default 1440),
anomaly_config (string, optional), preservation_version (uint, default 0).

    [MemoryStatsFilter]
    type = "SandboxFilter"
    filename = "lua_filters/memstats.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Type == 'stats.memstats'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = "Memory Stats"
local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
annotation.set_prune(title, rows * sec_per_row * 1e9)

local names = {"MemFree", "Cached", "Active", "Inactive", "VmallocUsed", "Shmem", "SwapCached"}
cbuf = circular_buffer.new(rows, #names + 2, sec_per_row)
local fields = {}
for i, name in ipairs(names) do
    cbuf:set_header(i, name, "Count", "max")
    fields[i] = "Fields[" .. name .. "]"
end
local SWAP_FREE = cbuf:set_header(#names + 1, "SwapFree", "Count", "max")
local SWAP_USED = cbuf:set_header(#names + 2, "SwapUsed", "Count", "max")

function process_message()
    local ts = read_message("Timestamp")
    for col, field in ipairs(fields) do
        local v = read_message(field)
        if type(v) ~= "number" then return -1 end
        cbuf:set(ts, col, v)
    end
    local free = read_message("Fields[SwapFree]")
    local total = read_message("Fields[SwapTotal]")
    if type(free) ~= "number" or type(total) ~= "number" then return -1 end
    cbuf:set(ts, SWAP_FREE, free)
    cbuf:set(ts, SWAP_USED, total - free)
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
