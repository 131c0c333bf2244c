-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of /proc/loadavg (the Payload).

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload.

Message: Type "stats.loadavg"; double fields 1MinAvg, 5MinAvg, 15MinAvg,
NumProcesses (the number before the "/": runnable entities), and FilePath
copied from the input message.

Example:

    [LoadAvg]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/proc/loadavg"
    decoder = "LoadAvgDecoder"

    [LoadAvgDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_loadavg.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, S, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.Cg, lpeg.Ct

local digits = R"09"^1
local average = digits * P"." * digits / tonumber
local sp = S" \t\n"
local grammar = Ct(Cg(average, "1MinAvg") * sp * Cg(average, "5MinAvg")
    * sp * Cg(average, "15MinAvg")
    * sp * Cg(digits / tonumber, "NumProcesses") * P"/" * digits * sp * digits)

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local fields = grammar:match(data or "")
    if not fields then return -1, "not the contents of /proc/loadavg" end
    fields.FilePath = read_message("Fields[FilePath]")
    local msg = {Type = "stats.loadavg", Fields = fields}
    if payload_keep then msg.Payload = data end
    inject_message(msg)
    return 0
end
