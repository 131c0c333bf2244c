-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
mysql_slow_query: graphs the mysql_slow_query (or mariadb_slow_query)
decoder's messages. Each row holds the mean Query Time and Lock Time (s), the
mean Rows Examined and Rows Sent (rounded down) of the queries logged in it,
and their Count. Fields Query_time, Lock_time, Rows_examined and Rows_sent
must be numbers (else -1); a message older than the window is ignored.

Output (every ticker_interval): inject_payload("cbuf", "Statistics", ...),
with annotations first and alerts sent when anomaly_config is set.

Config: sec_per_row (uint, default 60), rows (uint, default 1440),
anomaly_config (string, optional), preservation_version (uint, default 0).

    [Sync-1_5-SlowQueries]
    type = "SandboxFilter"
    message_matcher = "Logger == 'Sync-1_5-SlowQuery'"
    ticker_interval = 60
    filename = "lua_filters/mysql_slow_query.lua"

    [Sync-1_5-SlowQueries.config]
    anomaly_config = 'mww_nonparametric("Statistics", 5, 15, 10, 0.8)'

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
require "math"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = "Statistics"
local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
annotation.set_prune(title, rows * sec_per_row * 1e9)

data = circular_buffer.new(rows, 5, sec_per_row)
sums = circular_buffer.new(rows, 4, sec_per_row)
local QUERY_TIME = data:set_header(1, "Query Time", "s", "none")
local LOCK_TIME = data:set_header(2, "Lock Time", "s", "none")
local ROWS_EXAMINED = data:set_header(3, "Rows Examined", "count", "none")
local ROWS_SENT = data:set_header(4, "Rows Sent", "count", "none")
local COUNT = data:set_header(5, "Count")

local inputs = {
    {QUERY_TIME, "Fields[Query_time]", false},
    {LOCK_TIME, "Fields[Lock_time]", false},
    {ROWS_EXAMINED, "Fields[Rows_examined]", true},
    {ROWS_SENT, "Fields[Rows_sent]", true},
}

function process_message()
    local ts = read_message("Timestamp")
    local n = data:add(ts, COUNT, 1)
    if not n then return 0 end
    local values = {}
    for i, input in ipairs(inputs) do
        local v = read_message(input[2])
        if type(v) ~= "number" then return -1 end
        values[i] = v
    end
    for i, input in ipairs(inputs) do
        local mean = sums:add(ts, input[1], values[i]) / n
        if input[3] then mean = math.floor(mean) end
        data:set(ts, input[1], mean)
    end
    return 0
end

function timer_event(ns)
    if not anomaly_config then
        inject_payload("cbuf", title, data)
        return
    end
    if not alert.throttled(ns) then
        local msg, annotations = anomaly.detect(ns, title, data, anomaly_config)
        if msg then
            annotation.concat(title, annotations)
            alert.send(ns, msg)
        end
    end
    inject_payload("cbuf", title, annotation.prune(title, ns), data)
end
