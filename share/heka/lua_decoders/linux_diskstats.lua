-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes the contents of a /sys/block/<disk>/stat file (the Payload).

Config:

- payload_keep (bool, optional, default false)
    Keeps the file's text as the Payload.

Message: Type "stats.diskstats"; double fields ReadsCompleted, ReadsMerged,
SectorsRead, TimeReading, WritesCompleted, WritesMerged, SectorsWritten,
TimeWriting, NumIOInProgress, TimeDoingIO, WeightedTimeDoingIO; from kernels
that write them (4.18 and 5.5 on), DiscardsCompleted, DiscardsMerged,
SectorsDiscarded, TimeDiscarding, FlushesCompleted and TimeFlushing; and
FilePath and TickerInterval copied from the input message (FilePollingInput
sets them).

Example:

    [DiskStats]
    type = "FilePollingInput"
    ticker_interval = 1
    file_path = "/sys/block/sda/stat"
    decoder = "DiskStatsDecoder"

    [DiskStatsDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/linux_diskstats.lua"

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local lpeg = require "lpeg"
local P, R, S, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.Cg, lpeg.Ct

local function columns(names)
    local g = P(true)
    for _, name in ipairs(names) do
        g = g * S" \t"^0 * Cg(R"09"^1 / tonumber, name)
    end
    return g
end

local grammar = Ct(columns{"ReadsCompleted", "ReadsMerged", "SectorsRead", "TimeReading",
                           "WritesCompleted", "WritesMerged", "SectorsWritten", "TimeWriting",
                           "NumIOInProgress", "TimeDoingIO", "WeightedTimeDoingIO"}
    * columns{"DiscardsCompleted", "DiscardsMerged", "SectorsDiscarded", "TimeDiscarding"}^-1
    * columns{"FlushesCompleted", "TimeFlushing"}^-1
    * S" \t"^0 * P"\n")

local payload_keep = read_config("payload_keep")

function process_message()
    local data = read_message("Payload")
    local fields = grammar:match(data or "")
    if not fields then return -1, "not the contents of a /sys/block/<disk>/stat file" end
    fields.FilePath = read_message("Fields[FilePath]")
    fields.TickerInterval = read_message("Fields[TickerInterval]")
    local msg = {Type = "stats.diskstats", Fields = fields}
    if payload_keep then msg.Payload = data end
    inject_message(msg)
    return 0
end
