-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
field_util: field lists for the time-series encoders (ts_line_protocol).

base_fields_list               -- set: Type Payload Hostname Pid Logger Severity EnvVersion
base_fields_tag_list           -- set: the base fields that can be tags: Type Hostname Severity Logger
field_interp(s)                -- s with %{...} interpolated (msg_interpolate), else s
field_map(fields_str)          -- set of the space-separated names, all_base, all
                                  ("**all_base**" / "**all**" add every base field;
                                  nil or "" gives the base fields and all_base = true)
message_timestamp(precision)   -- floor(Timestamp / divisor): "s", "m", "h", else ms
used_base_fields(skip_fields)  -- set of the base fields not in skip_fields

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's module.
--]=]

local math = require "math"
local string = require "string"
local pairs = pairs
local read_message = read_message
local require = require

local M = {}
setfenv(1, M)

base_fields_list = {
    Type = true, Payload = true, Hostname = true, Pid = true,
    Logger = true, Severity = true, EnvVersion = true,
}

base_fields_tag_list = { Type = true, Hostname = true, Severity = true, Logger = true }

local divisors = { s = 1e9, m = 60e9, h = 3600e9 }

function field_interp(field)
    if string.find(field, "%%{[%w%p]-}") then
        return require("msg_interpolate").interpolate_from_msg(field, nil)
    end
    return field
end

function field_map(fields_str)
    if not fields_str or fields_str == "" then
        return base_fields_list, true, false
    end
    local set, all_base, all = {}, false, false
    for name in string.gmatch(fields_str, "%S+") do
        set[name] = true
        if name == "**all_base**" then all_base = true end
        if name == "**all**" then all = true end
    end
    if all_base or all then
        for name in pairs(base_fields_list) do set[name] = true end
    end
    return set, all_base, all
end

function message_timestamp(timestamp_precision)
    return math.floor(read_message("Timestamp") / (divisors[timestamp_precision] or 1e6))
end

function used_base_fields(skip_fields)
    local used = {}
    for name in pairs(base_fields_list) do
        if not (skip_fields and skip_fields[name]) then used[name] = true end
    end
    return used
end

return M
