-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
ts_line_protocol: the current message's dynamic fields as time-series lines,
for InfluxDB's line protocol (0.9 and later) or Graphite's plaintext protocol.

set_config(client_config)  -- the options (defaults below, overridden by the
                              true-ish values of client_config); call first
influxdb_line_msg(config)  -- array of lines "<name>[,<tags>] <key>=<value> <ts>"
carbon_line_msg(config)    -- array of lines "<name> <value> <ts>"

Options: carbon_format (false), decimal_precision ("6"), name_prefix (none;
%{...} is interpolated with msg_interpolate), name_prefix_delimiter (none),
skip_fields_str (none; space-separated names, "**all_base**" allowed),
source_value_field (none: only this field is emitted, named name_prefix),
tag_fields_str ("**all_base**"; "**all**" makes every dynamic field a tag
too), timestamp_precision ("ms"; or "s", "m", "h"), value_field_key ("value").

Every value of every dynamic field is a point, in message order. The name is
name_prefix .. name_prefix_delimiter .. field name; a field name seen before
gets "_fidx_<n>", and the values after the first of a field get
"_vidx_<i>" appended (cumulatively, as Heka named them). A later point of
the same name replaces the earlier one. Tags: the base fields Logger, Type,
Severity, Hostname (all of them with "**all**"/"**all_base**", else those
named), then the dynamic fields named (or all with "**all**"); a tag whose
value is empty is left out (InfluxDB refuses the line). Influx values:
strings quoted with " escaped, numbers with %.<decimal_precision>f,
booleans as true/false. Carbon: field names with every character other than
a letter or digit replaced by "_", no tags, only values Lua prints as digits
and dots.

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's module.
--]=]

local field_util = require "field_util"
local interp = require "msg_interpolate"
local string = require "string"
local table = require "table"
local decode_message = decode_message
local read_message = read_message
local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local type = type

local M = {}
setfenv(1, M)

-- The order tags are written in (the order Heka's Lua happened to give).
local base_tags = { "Logger", "Type", "Severity", "Hostname" }

local decimal_format = "%.6f"

local function escape(s)
    return (string.gsub(tostring(s), "([ ,])", "\\%1"))
end

local function tag(list, key, value)
    local v = escape(value)
    if v ~= "" then
        list[#list + 1] = escape(key) .. "=" .. v
    end
end

-- The points (names in order, values by name) and the tags of the message.
local function points_and_tags(config)
    local prefix = config.name_prefix or ""
    if config.interp_name_prefix then
        prefix = interp.interpolate_from_msg(prefix)
    end
    local delimiter = config.name_prefix_delimiter or ""
    local tag_fields = config.used_tag_fields
    local carbon = config.carbon_format

    local tags = {}
    if not carbon then
        for _, name in ipairs(base_tags) do
            if config.tag_fields_all or config.tag_fields_all_base
                or (tag_fields and tag_fields[name]) then
                tag(tags, name, read_message(name))
            end
        end
    end

    local names, values = {}, {}
    local function point(name, value)
        if values[name] == nil then names[#names + 1] = name end
        values[name] = value
    end

    local msg = decode_message(read_message("raw"))
    local seen = {}
    for _, f in ipairs(msg.Fields or {}) do
        local field = f.name
        if carbon then field = string.gsub(field, "[^%w]", "_") end
        local out = field
        local idx = (seen[field] or -1) + 1
        seen[field] = idx
        if idx > 0 then out = string.format("%s_fidx_%d", out, idx) end
        for i, value in ipairs(f.value or {}) do
            if i > 1 then out = string.format("%s_vidx_%d", out, i - 1) end
            if (not carbon and config.tag_fields_all) or (tag_fields and tag_fields[field]) then
                tag(tags, out, value)
            end
            if config.source_value_field then
                if field == config.source_value_field then point(prefix, value) end
            elseif not config.skip_fields_str or not config.skip_fields[field] then
                point(prefix .. delimiter .. out, value)
            end
        end
    end
    return names, values, tags
end

--[[ Public interface --]]

function set_config(client_config)
    local config = {
        carbon_format = false,
        decimal_precision = "6",
        name_prefix = false,
        name_prefix_delimiter = false,
        skip_fields_str = false,
        source_value_field = false,
        tag_fields_str = "**all_base**",
        timestamp_precision = "ms",
        value_field_key = "value",
    }
    client_config = client_config or {}
    for option in pairs(config) do
        if client_config[option] then config[option] = client_config[option] end
    end
    decimal_format = "%." .. config.decimal_precision .. "f"
    if config.skip_fields_str then
        config.skip_fields, config.skip_fields_all_base = field_util.field_map(config.skip_fields_str)
        config.used_base_fields = field_util.used_base_fields(config.skip_fields)
    end
    if config.tag_fields_str then
        config.used_tag_fields, config.tag_fields_all_base, config.tag_fields_all =
            field_util.field_map(config.tag_fields_str)
    end
    config.interp_name_prefix = config.name_prefix
        and string.find(config.name_prefix, "%%{[%w%p]-}") ~= nil or false
    return config
end

function influxdb_line_msg(config)
    local ts = field_util.message_timestamp(config.timestamp_precision)
    local names, values, tags = points_and_tags(config)
    local tag_text = ""
    if #tags > 0 then tag_text = "," .. table.concat(tags, ",") end
    local lines = {}
    for _, name in ipairs(names) do
        local v = values[name]
        local t = type(v)
        if t == "number" then
            v = string.format(decimal_format, v)
        elseif t == "boolean" then
            v = tostring(v)
        else
            v = '"' .. string.gsub(v, '"', '\\"') .. '"'
        end
        lines[#lines + 1] = string.format("%s%s %s=%s %d", escape(name), tag_text,
                                          config.value_field_key, v, ts)
    end
    return lines
end

function carbon_line_msg(config)
    local ts = field_util.message_timestamp(config.timestamp_precision)
    local names, values = points_and_tags(config)
    local lines = {}
    for _, name in ipairs(names) do
        local v = tostring(values[name])
        if string.match(v, "^[%d.]+$") then
            lines[#lines + 1] = string.format("%s %s %s", name, v, tostring(ts))
        end
    end
    return lines
end

return M
