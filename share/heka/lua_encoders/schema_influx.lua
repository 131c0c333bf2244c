-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Turns a whole message into JSON for InfluxDB's 0.8 HTTP API (for 0.9 and
later use schema_influx_line.lua).

Config:

- series (string, optional, default "series")
    The series name. %{name} is replaced by the header Type, Payload,
    Hostname, Pid, Logger, Severity or EnvVersion, else by the first value
    of the dynamic field `name`, else left as it is.
- skip_fields (string, optional, default "")
    Space-separated names left out: base (header) names drop those columns,
    other names drop dynamic fields.
- multi_series (boolean, optional, default false)
    One series per dynamic field, named "<series>.<field name>", with the
    base columns and a "value" column holding the field's first value.
- exclude_base_fields (boolean, optional, default false)
    No base columns at all.

Single series: columns "time" (Timestamp in ms), the base fields (Type,
Payload, Hostname, Pid, Logger, Severity, EnvVersion, less the skipped ones)
and the dynamic fields but bytes fields and a field named Timestamp (a
repeated name gets its count appended: name2, name3; several values give an
array).

Example:

    [influxdb]
    type = "SandboxEncoder"
    filename = "lua_encoders/schema_influx.lua"
        [influxdb.config]
        series = "heka.%{Logger}"
        skip_fields = "Pid EnvVersion"

Output:

    [{"points":[[1409378221000,"log","test","systemName","TcpInput",5,1,"test"]],"name":"heka.MyLogger","columns":["time","Type","Payload","Hostname","Logger","Severity","syslogfacility","programname"]}]

(keys in the order Heka's encoder gave them).

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "cjson"
require "string"
require "table"

local series = read_config("series") or "series"
local interpolate = string.find(series, "%%{[%w%p]-}") ~= nil
local multi_series = read_config("multi_series")
local exclude_base_fields = read_config("exclude_base_fields")

local base_fields = { "Type", "Payload", "Hostname", "Pid", "Logger", "Severity", "EnvVersion" }
local is_base = {}
for _, name in ipairs(base_fields) do is_base[name] = true end

local skip_fields_str = read_config("skip_fields")
local skip = {}
local used_base_fields = {}
for name in string.gmatch(skip_fields_str or "", "%S+") do skip[name] = true end
for _, name in ipairs(base_fields) do
    if not skip[name] then used_base_fields[#used_base_fields + 1] = name end
    skip[name] = nil -- base names never skip dynamic fields
end

local function series_name()
    if not interpolate then return series end
    return (string.gsub(series, "%%{([%w%p]-)}", function(key)
        if is_base[key] then return read_message(key) end
        local v = read_message("Fields[" .. key .. "]")
        if v ~= nil then return v end
        return "%{" .. key .. "}"
    end))
end

-- A JSON object with its keys in the given order.
local function object(keys, values)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = cjson.encode(k) .. ":" .. values[i] end
    return "{" .. table.concat(parts, ",") .. "}"
end

local function entry(name, columns, points)
    return object({ "points", "name", "columns" },
                  { "[" .. cjson.encode(points) .. "]", cjson.encode(name), cjson.encode(columns) })
end

function process_message()
    local columns = { "time" }
    local points = { read_message("Timestamp") / 1e6 }
    local place = 2 -- counted: a missing value is a hole (null), not a shift
    if not exclude_base_fields then
        for _, name in ipairs(used_base_fields) do
            columns[place] = name
            points[place] = read_message(name)
            place = place + 1
        end
    end
    local msg = decode_message(read_message("raw"))
    local fields = msg.Fields or {}
    local name = series_name()
    local out = {}
    if multi_series then
        for _, f in ipairs(fields) do
            if not skip[f.name] then
                local c, p = {}, {}
                for i = 1, place - 1 do c[i], p[i] = columns[i], points[i] end
                c[place] = "value"
                p[place] = f.value[1]
                out[#out + 1] = entry(name .. "." .. f.name, c, p)
            end
        end
    else
        local seen = {}
        for _, f in ipairs(fields) do
            if f.name ~= "Timestamp" and f.value_type ~= 1 and not skip[f.name] then
                local n = (seen[f.name] or 0) + 1
                seen[f.name] = n
                columns[place] = n == 1 and f.name or f.name .. n
                if #f.value == 1 then
                    points[place] = f.value[1]
                else
                    points[place] = f.value
                end
                place = place + 1
            end
        end
        out[1] = entry(name, columns, points)
    end
    local json = "{}" -- what Heka's cjson made of an empty list
    if #out > 0 then json = "[" .. table.concat(out, ",") .. "]" end
    inject_payload("json", "influx_message", json)
    return 0
end
