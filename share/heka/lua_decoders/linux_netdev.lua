-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of /proc/net/dev (the Payload): one message per network
interface.

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload of each message.

Message: Type "stats.netdev"; integer fields named after the header's columns,
receive_bytes, receive_packets, receive_errs, receive_drop, receive_fifo,
receive_frame, receive_compressed, receive_multicast, transmit_bytes, ...,
transmit_carrier, transmit_compressed; the string field netdevice (the
interface's name) and FilePath copied from the input message.

Example:

    [Netdev]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/proc/net/dev"
    decoder = "NetdevDecoder"

    [NetdevDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_netdev.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, S, C, Cc, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct

local sp = P" "^0
local word = (R("az", "09"))^1
local columns = Ct((C(word) * sp)^1)
local header = P"Inter-|" * sp * P"Receive" * sp * P"|" * sp * P"Transmit" * sp * P"\n"
    * sp * P"face" * sp * P"|" * sp * Cg(columns, "receive") * P"|" * sp
    * Cg(columns, "transmit") * P"\n"
-- A counter as an integer field (value_type 2).
local counter = Ct(Cg(R"09"^1 / tonumber, "value") * Cg(Cc(2), "value_type"))
local interface = Ct(sp * Cg(C((1 - S": \n")^1), "name") * P":" * sp
    * Cg(Ct((counter * sp)^1), "counters") * P"\n")
local grammar = Ct(header * Cg(Ct(interface^1), "interfaces"))

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local parsed = grammar:match(data or "")
    if not parsed then return -1, "not the contents of /proc/net/dev" end

    local names = {}
    for _, c in ipairs(parsed.receive) do names[#names + 1] = "receive_" .. c end
    for _, c in ipairs(parsed.transmit) do names[#names + 1] = "transmit_" .. c end

    local file_path = read_message("Fields[FilePath]")
    for _, iface in ipairs(parsed.interfaces) do
        local fields = {netdevice = iface.name, FilePath = file_path}
        for i, counter in ipairs(iface.counters) do
            local name = names[i]
            if name then fields[name] = counter end
        end
        local msg = {Type = "stats.netdev", Fields = fields}
        if payload_keep then msg.Payload = data end
        inject_message(msg)
    end
    return 0
end
