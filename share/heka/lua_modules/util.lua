-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
util: helpers for turning Lua data into message fields.

table_to_fields(t, fields, parent, separator, max_depth)
    Flattens the nested table `t` into `fields` (a flat table usable as a
    message's Fields): a nested key becomes "<parent><separator><key>"
    (separator "." unless a string is given; array members are keyed by
    their index). A nested table whose depth reaches `max_depth` is stored
    as its JSON text instead. Userdata values (cjson.null) are dropped.
behead_array(idx, array)
    Removes the members before index `idx` from `array`, in place: the member
    at `idx` becomes the first.

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's lua_sandbox module.
--]]

local string = require "string"
local cjson = require "cjson"
local pairs = pairs
local type = type
local tostring = tostring

local M = {}

-- How many times `pattern` (a Lua pattern) occurs in `s`.
local function occurrences(s, pattern)
    local _, n = string.gsub(s, pattern, "")
    return n
end

function M.table_to_fields(t, fields, parent, separator, max_depth)
    if type(separator) ~= "string" then separator = "." end
    for key, value in pairs(t) do
        local name = key
        if parent then name = parent .. separator .. tostring(key) end
        local vtype = type(value)
        if vtype == "table" then
            -- Heka compat: the depth counts the separator as a Lua pattern,
            -- so with "." every character of the name counts.
            local depth = occurrences(tostring(name), separator) + 1
            if type(max_depth) == "number" and depth >= max_depth then
                fields[name] = cjson.encode(value)
            else
                M.table_to_fields(value, fields, name, separator, max_depth)
            end
        elseif vtype ~= "userdata" then
            fields[name] = value
        end
    end
end

function M.behead_array(idx, array)
    if idx <= 1 then return end
    local len = #array
    local kept = 0
    for i = idx, len do
        kept = kept + 1
        array[kept] = array[i]
    end
    for i = len, kept + 1, -1 do
        array[i] = nil
    end
end

return M
