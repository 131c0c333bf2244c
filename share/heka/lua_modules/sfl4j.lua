-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
sfl4j: an LPeg grammar for the log events Java programs write through SLF4J
with Dropwizard's default layout:

ERROR [2014-11-21 16:35:59,501] com.domain.client.jobs.OutgoingQueue: Error handling output file
! java.net.SocketTimeoutException: Read timed out
! at java.net.SocketInputStream.socketRead0(Native Method)

logevent_grammar -- one event (the first line must end with a newline),
                    captured as a table:
    severity   -- the level as a syslog severity: TRACE and DEBUG 7, INFO 6,
                  WARN 4, ERROR 3, FATAL 0 (upper or lower case)
    timestamp  -- nanoseconds since the epoch (the time is read as UTC)
    class      -- the logger's name
    message    -- the rest of the first line
    stacktrace -- the following lines, each with its newline ("" when none)

Part of "Heka, rebuilt in Rust"; same names and captures as Heka 0.10's
lua_sandbox module (whose name keeps its spelling).
--]]

local lpeg = require "lpeg"
local string = require "string"
local dt = require "date_time"
local tonumber = tonumber

local P, R, S, C, Cc, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct
local digit = R"09"
local blank = S" \t"^1
local nl = P"\n"

local M = {}

local function level(name, severity)
    return (P(name) + P(string.lower(name))) * Cc(severity)
end
local severity = Cg(level("TRACE", 7) + level("DEBUG", 7) + level("INFO", 6) + level("WARN", 4)
    + level("ERROR", 3) + level("FATAL", 0), "severity")

-- 2014-11-21 16:35:59,501 (the milliseconds may be missing after the comma)
local fraction = Cg(C(digit^3) / function(d) return tonumber("0." .. d) end, "sec_frac")
local datetime = Ct(dt.rfc3339_full_date * blank * dt.time_hour * P":" * dt.time_minute
    * P":" * dt.time_second * P"," * fraction^-1) / dt.time_to_ns

local first_line = severity * blank * P"[" * Cg(datetime, "timestamp") * P"]" * blank
    * Cg(C((1 - P":")^1), "class") * P":" * blank * Cg(C((1 - nl)^0), "message") * nl
local more_lines = Cg(C(((1 - nl)^0 * nl)^0), "stacktrace")

M.logevent_grammar = Ct(first_line * more_lines)

return M
