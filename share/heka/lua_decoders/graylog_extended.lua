-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes GELF (Graylog Extended Log Format) JSON documents (the Payload):
http://docs.graylog.org/en/latest/pages/gelf.html

Config:

- type (string, optional, default nil)
    The message Type; when unset the input message's Type is kept.
- payload_keep (bool, optional, default false)
    Keeps the JSON text as the Payload.

Message: Timestamp from "timestamp" (seconds since the epoch, fractions
allowed; required), EnvVersion from "version", Severity from "level",
Hostname from "host"; every other top-level member becomes a field of the
same name ("short_message", "full_message", "_user_id", ...): strings,
numbers and booleans as they are, arrays as multi-value fields; JSON nulls
are dropped.

Example:

    [GelfInput]
    type = "UdpInput"
    address = "127.0.0.1:12201"
    decoder = "GraylogDecoder"

    [GraylogDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/graylog_extended.lua"

        [GraylogDecoder.config]
        type = "gelf"
        payload_keep = true

A payload that is not a JSON object with a numeric timestamp, or whose
members cannot be fields (nested objects), is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

require "cjson"

local msg_type = read_config("type")
local payload_keep = read_config("payload_keep")

-- The header each GELF member goes to.
local headers = {version = "EnvVersion", level = "Severity", host = "Hostname"}

function process_message()
    local payload = read_message("Payload")
    local ok, doc = pcall(cjson.decode, payload or "")
    if not ok or type(doc) ~= "table" then return -1, "not a JSON object" end
    if type(doc.timestamp) ~= "number" then return -1, "no numeric timestamp" end

    local msg = {Type = msg_type, Timestamp = doc.timestamp * 1e9}
    doc.timestamp = nil
    for member, header in pairs(headers) do
        msg[header] = doc[member]
        doc[member] = nil
    end
    local fields = {}
    for name, value in pairs(doc) do
        -- Heka compat: Heka's cjson dropped JSON nulls.
        if type(value) ~= "userdata" then fields[name] = value end
    end
    msg.Fields = fields
    if payload_keep then msg.Payload = payload end
    if not pcall(inject_message, msg) then return -1, "members that cannot be fields" end
    return 0
end
