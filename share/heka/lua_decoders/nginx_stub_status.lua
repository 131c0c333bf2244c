-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the page of nginx's stub_status module (the Payload):

    Active connections: 291
    server accepts handled requests
     16630948 16630948 31070465
    Reading: 6 Writing: 179 Waiting: 106

Config:

- type (string, optional, default "nginx_stub_status")
    The message Type.
- payload_keep (bool, optional, default false)
    Keeps the page as the Payload.

Message fields (numbers): connections, accepts, handled, requests, reading,
writing, waiting.

Example:

    [NginxStubStatusDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/nginx_stub_status.lua"

A page that does not match is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, S, R, Cg, Ct = lpeg.P, lpeg.S, lpeg.R, lpeg.Cg, lpeg.Ct

local blank = S" \t\n"^0
local function number(name)
    return blank * Cg(R"09"^1 / tonumber, name)
end

local grammar = Ct(P"Active connections:" * number("connections")
    * blank * P"server accepts handled requests"
    * number("accepts") * number("handled") * number("requests")
    * blank * P"Reading:" * number("reading")
    * blank * P"Writing:" * number("writing")
    * blank * P"Waiting:" * number("waiting"))

local msg_type = read_config("type") or "nginx_stub_status"
local payload_keep = read_config("payload_keep")

function process_message()
    local page = read_message("Payload")
    local fields = grammar:match(page or "")
    if not fields then return -1, "not an nginx stub_status page" end
    local msg = {Type = msg_type, Fields = fields}
    if payload_keep then msg.Payload = page end
    inject_message(msg)
    return 0
end
