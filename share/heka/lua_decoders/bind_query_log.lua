-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the query log of ISC BIND's named (the Payload), written with the
logging channel options print-time, print-severity and print-category set to
yes:

    channel query_log {
      file "/var/log/named/named_query.log" versions 3 size 5m;
      severity info;
      print-time yes;
      print-severity yes;
      print-category yes;
    };

Config:

- type (string, optional, default nil)
    The message Type; when unset the input message's Type is kept.

Message: Timestamp from the log line (to the second), Payload the line, fields
ClientIP and ServerRespondingIP ({value, representation "ipv4"/"ipv6"}),
ClientEphemeralPort, FullQuery, QueryName, QueryDomain, RecordClass,
RecordType and QueryFlags (see the bind module).

Example:

    [BindQueryLogInput]
    type = "LogstreamerInput"
    log_directory = "/var/log/named"
    file_match = 'named_query\.log'
    decoder = "BindQueryLogDecoder"

    [BindQueryLogDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/bind_query_log.lua"

        [BindQueryLogDecoder.config]
        type = "bind.query"

A line that does not match is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local bind = require "bind"

local msg_type = read_config("type")
local grammar = lpeg.Ct(bind.query_log_grammar)

function process_message()
    local line = read_message("Payload")
    local fields = grammar:match(line or "")
    if not fields then return -1, "not a BIND query log line" end
    local msg = {Type = msg_type, Payload = line, Timestamp = fields.Timestamp}
    fields.Timestamp = nil
    msg.Fields = fields
    inject_message(msg)
    return 0
end
