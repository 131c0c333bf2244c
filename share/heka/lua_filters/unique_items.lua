-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
unique_items: estimates how many distinct values a message variable takes per
period (daily active users by uid, say) with a HyperLogLog, into a one-column
circular buffer. A message of an older period than the current one is
ignored; a newer period starts a new count. The value must be a string or a
number (else -1).

Output (every ticker_interval): inject_payload("cbuf", <title>, ...), and with
enable_delta also inject_payload("cbufd", <title>, <the changes>).

Config:
- message_variable (string, required): e.g. "Fields[uid]"; the column is
  named after the field.
- title (string, default "Estimated Unique Daily <message_variable>")
- enable_delta (bool, default false)
- rows (uint, default 365), seconds_per_row (uint, default 86400)
- preservation_version (uint, default 0)

    [FxaActiveDailyUsers]
    type = "SandboxFilter"
    filename = "lua_filters/unique_items.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Logger == 'FxaAuth' && Type == 'request.summary'"

    [FxaActiveDailyUsers.config]
    message_variable = "Fields[uid]"
    title = "Estimated Active Daily Users"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

require "circular_buffer"
require "hyperloglog"
require "math"
require "string"

local variable = read_config("message_variable") or error("message_variable configuration must be specified")
local title = read_config("title") or "Estimated Unique Daily " .. variable
local enable_delta = read_config("enable_delta") or false
local rows = read_config("rows") or 365
local seconds_per_row = read_config("seconds_per_row") or 86400

active_day = 0
hll = hyperloglog.new()
active = circular_buffer.new(rows, 1, seconds_per_row, enable_delta)
local COLUMN = active:set_header(1, string.match(variable, "^Fields%[([^%]]+)%]") or variable)
local period_ns = seconds_per_row * 1e9

function process_message()
    local ts = read_message("Timestamp")
    local period = math.floor(ts / period_ns)
    if period < active_day then return 0 end
    if period > active_day then
        active_day = period
        hll:clear()
    end
    local item = read_message(variable)
    local kind = type(item)
    if kind ~= "string" and kind ~= "number" then return -1 end
    if hll:add(item) then active:set(ts, COLUMN, hll:count()) end
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", title, active:format("cbuf"))
    if enable_delta then
        inject_payload("cbufd", title, active:format("cbufd"))
    end
end
