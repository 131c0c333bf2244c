-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes nginx error log lines (the Payload), whose format nginx fixes:

    2014/03/01 11:29:39 [notice] 16842#0: *8878 using inherited sockets from "6;"

Config:

- type (string, optional, default "nginx.error")
    The message Type.
- payload_keep (bool, optional, default false)
    Keeps the whole log line as the Payload (else the Payload is the text
    after the thread id and connection).
- tz (string, optional, default UTC)
    The zone of the log's times, which carry no offset (read by hekad).

Message: Timestamp from the time, Severity from the level (debug 7, info 6,
notice 5, warn 4, error 3, crit 2, alert 1, emerg 0), Pid, fields tid and
connection (when "*N " is there), Payload the message text.

Example:

    [NginxErrorDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/nginx_error.lua"

    [NginxErrorDecoder.config]
    tz = "America/Los_Angeles"

A line that does not match is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local clf = require "common_log_format"

local msg_type = read_config("type") or "nginx.error"
local payload_keep = read_config("payload_keep")

function process_message()
    local line = read_message("Payload")
    local msg = clf.nginx_error_grammar:match(line or "")
    if not msg then return -1, "not an nginx error log line" end
    msg.Type = msg_type
    if payload_keep then msg.Payload = line end
    inject_message(msg)
    return 0
end
