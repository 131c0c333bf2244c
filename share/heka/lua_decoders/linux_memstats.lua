-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of /proc/meminfo (the Payload).

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload.

Message: Type "stats.memstats"; a double field per line, named as the line
(MemTotal, MemFree, Active(anon), HugePages_Total, ...), with representation
"kB" when the line gives that unit (else ""); and FilePath copied from the
input message. Reading stops at the first line that does not match.

Example:

    [MemStats]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/proc/meminfo"
    decoder = "MemStatsDecoder"

    [MemStatsDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_memstats.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, S, C, Cc, Cg, Ct, Cf = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct,
    lpeg.Cf

local name = C((1 - P":")^1) * P":"
local value = Cg(R"09"^1 / tonumber, "value")
local unit = Cg(P"\n" * Cc"" + S" \t" * C"kB" * P"\n", "representation")
local line = Cg(name * S" \t"^1 * Ct(value * unit))
local grammar = Cf(Ct"" * line^1, rawset)

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local fields = grammar:match(data or "")
    if not fields then return -1, "not the contents of /proc/meminfo" end
    fields.FilePath = read_message("Fields[FilePath]")
    local msg = {Type = "stats.memstats", Fields = fields}
    if payload_keep then msg.Payload = data end
    inject_message(msg)
    return 0
end
