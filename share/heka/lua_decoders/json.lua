-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes a JSON object (the Payload) into a message: its members become
fields (nested objects flattened), and chosen members can set the headers.

Config:

- type (string, optional, default "json")
    The message Type (a mapped Type member overrides it).
- payload_keep (bool, optional, default false)
    Keeps the JSON text as the Payload.
- map_fields (bool, optional, default false)
    Sets headers from the members named by the options below (a member used
    for a header is not made a field).
- Payload, Uuid, Type, Logger, Hostname (string, optional)
    The member (a JSON string) that sets that header. A mapped Payload
    overrides payload_keep.
- Severity, EnvVersion, Pid (string, optional)
    The member (a JSON number) that sets that header.
- Timestamp (string, optional)
    The member that sets the Timestamp (read even without map_fields):
    nanoseconds since the epoch, or a time in timestamp_format.
- timestamp_format (string, optional)
    A strftime format (see the date_time module) for the Timestamp member.
- maximum_depth (int, optional)
    How deep nested members are flattened; a deeper object becomes one field
    holding its JSON text (the depth of a name counts the separator as a Lua
    pattern, as Heka did: with "." every character counts).
- separator (string, optional, default ".")
    Joins the names of nested members: {"a":{"b":1}} gives the field "a.b".

Example:

    [JsonDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/json.lua"

        [JsonDecoder.config]
        type = "artemis"
        payload_keep = true
        map_fields = true
        Severity = "severity"

A payload that is not JSON fails with "Failed to decode JSON.", a timestamp
that does not match timestamp_format with "Failed to decode timestamp.".
(hekad also has a native JsonDecoder taking the same config.)

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

require "cjson"
local util = require "util"
local dt = require "date_time"

local max_depth = read_config("maximum_depth")
local separator = read_config("separator")
local map_fields = read_config("map_fields")
local payload_keep = read_config("payload_keep")
local msg_type = read_config("type") or "json"
local timestamp_key = read_config("Timestamp")
local timestamp_format = read_config("timestamp_format")
local timestamp_grammar
if timestamp_format then timestamp_grammar = dt.build_strftime_grammar(timestamp_format) end

-- Header -> {member name, the Lua type its value must have}.
local mapping = {}
for header, want in pairs{Payload = "string", Uuid = "string", Type = "string",
                          Logger = "string", Hostname = "string", Severity = "number",
                          EnvVersion = "number", Pid = "number"} do
    local member = read_config(header)
    if member then mapping[header] = {member, want} end
end

function process_message()
    local payload = read_message("Payload")
    local ok, doc = pcall(cjson.decode, payload or "")
    if not ok or type(doc) ~= "table" then return -1, "Failed to decode JSON." end

    local msg = {Type = msg_type}
    if payload_keep then msg.Payload = payload end

    if map_fields then
        for header, m in pairs(mapping) do
            local value = doc[m[1]]
            if type(value) == m[2] then
                msg[header] = value
                doc[m[1]] = nil
            else
                msg[header] = nil
            end
        end
    end

    if timestamp_key then
        local ts = doc[timestamp_key]
        if ts ~= nil then
            if timestamp_grammar then
                local t = (type(ts) == "string" or type(ts) == "number")
                    and timestamp_grammar:match(tostring(ts))
                if not t then return -1, "Failed to decode timestamp." end
                msg.Timestamp = dt.time_to_ns(t)
            else
                msg.Timestamp = ts
            end
        end
        doc[timestamp_key] = nil
    end

    local fields = {}
    if not pcall(util.table_to_fields, doc, fields, nil, separator, max_depth) then
        return -1, "Failed to flatten message."
    end
    msg.Fields = fields
    if not pcall(inject_message, msg) then return -1, "Failed to inject message." end
    return 0
end
