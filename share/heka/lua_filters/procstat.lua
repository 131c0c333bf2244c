-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
procstat: turns the linux_procstat decoder's /proc/stat messages into CPU
utilisation. Each message is compared with the previous one (the first only
primes): for every field (matching whitelist) the change since then, and for
each cpu line (cpu, cpu0, ...) with ticks = the sum of its changes:
    <cpu>_percent = 100 * (1 - idle / ticks), rounded (half up)
With extras also <cpu>_delta_<user|nice|system|idle|iowait|irq|softirq|steal|
guest|guestnice>, <cpu>_delta_ticks, <cpu>_percent_<user|nice|system|idle>,
softirq_delta_<n> and <name>_delta for the single-value lines.

Output: one message per message after the first,
inject_message{Type = "procstat", Payload = <the message's Payload>,
Fields = ...} (so Type "heka.sandbox.procstat").

Config:
- whitelist (string, optional): a Lua pattern the field names must match.
- extras (bool, default false)
- percent_integer (bool, default true): as in Heka, `false` is not honoured
  (the percentages are always whole numbers).

    [ProcStatFilter]
    type = "SandboxFilter"
    filename = "lua_filters/procstat.lua"
    message_matcher = "Type == 'stats.procstat'"

    [ProcStatFilter.config]
    whitelist = "cpu$"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

require "math"
require "string"

local whitelist = read_config("whitelist") or false
local extras = read_config("extras") or false
-- Heka read this as `read_config(...) or true`, so false never took effect.
local percent_integer = true

local CPU_COLUMNS = {"user", "nice", "system", "idle", "iowait", "irq",
    "softirq", "steal", "guest", "guestnice"}

local previous = nil

-- The message's fields: name -> number, or a list for multi-value fields.
local function read_fields()
    local fields = {}
    while true do
        local vtype, name, value, _, count = read_next_field()
        if not vtype then break end
        if count == 1 then
            fields[name] = value
        else
            local list = {value}
            local key = "Fields[" .. name .. "]"
            for i = 1, count - 1 do list[i + 1] = read_message(key, 0, i) end
            fields[name] = list
        end
    end
    return fields
end

-- new - old for numbers, element by element for lists of the same length;
-- nil otherwise (text fields included).
local function delta(new, old)
    local kind = type(new)
    if kind ~= type(old) then return nil end
    if kind == "number" then return new - old end
    if kind ~= "table" or #new ~= #old then return nil end
    local d = {}
    for k, v in pairs(old) do d[k] = delta(new[k], v) end
    return d
end

local function percent(fraction)
    if percent_integer then return math.ceil(fraction * 100 - 0.5) end
    return fraction
end

local function fields_of(changes)
    local out = {}
    for name, d in pairs(changes) do
        if not whitelist or string.match(name, whitelist) then
            if string.match(name, "^cpu") and type(d) == "table" then
                local ticks = 0
                for i, v in pairs(d) do
                    if extras then
                        out[name .. "_delta_" .. (CPU_COLUMNS[i] or i)] = v
                    end
                    ticks = ticks + v
                end
                if extras then out[name .. "_delta_ticks"] = ticks end
                if ticks > 0 then
                    if extras then
                        out[name .. "_percent_user"] = percent(d[1] / ticks)
                        out[name .. "_percent_nice"] = percent(d[2] / ticks)
                        out[name .. "_percent_system"] = percent(d[3] / ticks)
                        out[name .. "_percent_idle"] = percent(d[4] / ticks)
                    end
                    out[name .. "_percent"] = percent(1 - d[4] / ticks)
                end
            elseif extras and name == "softirq" and type(d) == "table" then
                for i, v in pairs(d) do out[name .. "_delta_" .. i] = v end
            elseif extras and type(d) ~= "table" then
                out[name .. "_delta"] = d
            end
        end
    end
    return out
end

function process_message()
    local current = read_fields()
    if not previous then
        previous = current
        return 0
    end
    local changes = delta(current, previous)
    previous = current
    inject_message({Type = "procstat", Payload = read_message("Payload"), Fields = fields_of(changes)})
    return 0
end
