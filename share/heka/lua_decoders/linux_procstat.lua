-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of /proc/stat (the Payload).

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload.

Message: Type "stats.procstat"; one field per line, named by the line's first
word (cpu, cpu0, cpu1, ..., intr, ctxt, btime, processes, procs_running,
procs_blocked, softirq), holding the line's numbers (an array of doubles; cpu
lines: user nice system idle iowait irq softirq steal guest guest_nice, as
far as the kernel writes them). Reading stops at the first line that is not
a word followed by numbers.

Example:

    [ProcStats]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/proc/stat"
    decoder = "ProcStatDecoder"

    [ProcStatDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_procstat.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, C, Cg, Ct, Cf = lpeg.P, lpeg.R, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cf

local spaces = P" "^1
local number = R"09"^1 / tonumber
local key = C((R("az", "AZ", "09") + P"_")^1)
local values = Ct((number * P" "^0)^1)
local line = Cg(key * spaces * values) * P"\n"^0
local grammar = Cf(Ct"" * line^1, rawset)

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local fields = grammar:match(data or "")
    if not fields then return -1, "not the contents of /proc/stat" end
    local msg = {Type = "stats.procstat", Fields = fields}
    if payload_keep then msg.Payload = data end
    inject_message(msg)
    return 0
end
