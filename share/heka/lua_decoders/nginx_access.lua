-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes nginx access log lines (the Payload) into messages whose fields are
the values the log format names.

Config:

- log_format (string, required)
    The 'log_format' directive of nginx.conf.
    The time ($time_local, $time_iso8601 or $msec) becomes the message Timestamp.
- type (string, optional, default nil)
    The message Type; when unset the input message's Type is kept.
- user_agent_transform (bool, optional, default false)
    Replaces http_user_agent with user_agent_browser, user_agent_version and
    user_agent_os.
- user_agent_keep (bool, optional, default false)
    Keeps http_user_agent as well when transforming.
- user_agent_conditional (bool, optional, default false)
    Keeps http_user_agent only when no browser was recognised.
- payload_keep (bool, optional, default false)
    Keeps the log line as the message Payload.

Example:

    [AccessLogDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/nginx_access.lua"

    [AccessLogDecoder.config]
    type = "nginx.access"
    user_agent_transform = true
    log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'

A line that does not match the format is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local clf = require "common_log_format"

local log_format = read_config("log_format")
local msg_type = read_config("type")
local ua_transform = read_config("user_agent_transform")
local ua_keep = read_config("user_agent_keep")
local ua_conditional = read_config("user_agent_conditional")
local payload_keep = read_config("payload_keep")

local grammar = clf.build_nginx_grammar(log_format)
if not grammar then error("log_format: a non-empty format is required", 0) end

local msg = {
    Timestamp = nil,
    Type = msg_type,
    Payload = nil,
    Fields = nil,
}

-- Each line is decoded on its own: hekad may decode a busy log file's lines with
-- several instances of this decoder at once (our extension; Heka ignores it).
decoder_is_stateless = true

function process_message()
    local line = read_message("Payload")
    local fields = grammar:match(line or "")
    if not fields then return -1 end

    msg.Timestamp = fields.time
    fields.time = nil
    if payload_keep then msg.Payload = line end

    local ua = fields.http_user_agent
    if ua_transform and ua then
        local browser, version, os = clf.normalize_user_agent(ua)
        fields.user_agent_browser = browser
        fields.user_agent_version = version
        fields.user_agent_os = os
        local keep = ua_keep or (ua_conditional and not browser)
        if not keep then fields.http_user_agent = nil end
    end

    msg.Fields = fields
    inject_message(msg)
    return 0
end
