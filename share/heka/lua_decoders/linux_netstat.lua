-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of /proc/net/netstat or /proc/net/snmp (the Payload):
pairs of lines, "Proto: Name1 Name2 ..." then "Proto: value1 value2 ...".

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload.

Message: Type "stats.netstat"; an integer field <Proto>_<Name> per value
(Ip_Forwarding, Icmp_InMsgs, Tcp_ActiveOpens, TcpExt_SyncookiesSent, ...);
and FilePath copied from the input message. Reading stops at the first pair
of lines that does not match.

Example:

    [NetSnmp]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/proc/net/snmp"
    decoder = "NetstatDecoder"

    [NetstatDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_netstat.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, C, Cc, Cg, Ct = lpeg.P, lpeg.R, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct

local word = R("az", "AZ", "09")^1
-- A counter as an integer field (value_type 2); Tcp's MaxConn is -1.
local counter = Ct(Cg(P"-"^-1 * R"09"^1 / tonumber, "value") * Cg(Cc(2), "value_type"))
local names_line = Cg(C(word), "proto") * P":" * Cg(Ct((P" " * C(word))^1), "names") * P"\n"
local values_line = P(word) * P":" * Cg(Ct((P" " * counter)^1), "values") * P"\n"
local grammar = Ct(Ct(names_line * values_line)^1)

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local pairs_ = grammar:match(data or "")
    if not pairs_ then return -1, "not the contents of /proc/net/netstat or /proc/net/snmp" end
    local fields = {}
    for _, p in ipairs(pairs_) do
        for i, name in ipairs(p.names) do
            fields[p.proto .. "_" .. name] = p.values[i]
        end
    end
    fields.FilePath = read_message("Fields[FilePath]")
    local msg = {Type = "stats.netstat", Fields = fields}
    if payload_keep then msg.Payload = data end
    inject_message(msg)
    return 0
end
