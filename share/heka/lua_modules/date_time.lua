-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
date_time: LPeg grammars for the timestamps found in logs, and the helpers
that turn their captures into nanoseconds since the Unix epoch.

Every timestamp grammar captures a table with string members year, month,
day, hour, min, sec (as written in the log, month already a number string),
and optionally sec_frac (number, e.g. 0.25), period ("AM"/"PM"), an offset
from UTC: offset_sign ("+"/"-"), offset_hour and offset_min (numbers), or
time_t (seconds since the epoch, from strftime's %s).
time_to_ns(t) turns such a table into nanoseconds (a Lua number).

Part of "Heka, rebuilt in Rust"; the API follows Heka 0.10's lua_sandbox
module of the same name so that Heka's plugins and users' scripts load it
unchanged.
--]]

local lpeg = require "lpeg"
local string = require "string"
local os = require "os"
local tonumber = tonumber
local ipairs = ipairs
local error = error
local floor = function(x) return x - x % 1 end

local P, R, S, C, Cg, Ct, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cc
local digit = R"09"
local alpha = R("az", "AZ")
local alnum = alpha + digit
local space = S" \t\n\r\f\v"

local M = {}

-- Month and day names, English, in calendar order (Sunday first for days).
M.month_abbr = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
M.month_names = {"January", "February", "March", "April", "May", "June", "July",
                 "August", "September", "October", "November", "December"}
M.day_abbr = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
M.day_names = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
               "Saturday"}

-- Days from 1970-01-01 to the given proleptic Gregorian date; the day and the
-- month may lie outside their ranges and then carry over, as mktime does.
local function days_since_epoch(year, month, day)
    year = year + floor((month - 1) / 12)
    month = (month - 1) % 12 + 1
    if month <= 2 then year = year - 1 end
    local era = floor(year / 400)
    local yoe = year - era * 400
    local shifted = (month + 9) % 12 -- March is 0
    local doy = floor((153 * shifted + 2) / 5) + day - 1
    local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

--[[ Helpers --]]

-- Nanoseconds since the Unix epoch for a table of date/time captures (see the
-- header). A missing table, or one without a usable date, gives 0.
function M.time_to_ns(t)
    if type(t) ~= "table" then return 0 end
    if t.time_t then return t.time_t * 1e9 end -- from %s
    local year, month, day = tonumber(t.year), tonumber(t.month), tonumber(t.day)
    if not (year and month and day) then return 0 end
    local hour = tonumber(t.hour) or 12
    local min = tonumber(t.min) or 0
    local sec = tonumber(t.sec) or 0

    if t.period == "AM" then
        if hour == 12 then hour = 0 end
    elseif t.period == "PM" then
        if hour < 12 then hour = hour + 12 end
    end

    local secs = days_since_epoch(year, month, day) * 86400
                 + hour * 3600 + min * 60 + sec
    local shift = 0
    if t.offset_hour then
        shift = t.offset_hour * 3600 + (t.offset_min or 0) * 60
        if t.offset_sign == "+" then shift = -shift end
    end
    -- Summed in this order, as Heka did, so the rounding is the same.
    return (secs + (tonumber(t.sec_frac) or 0) + shift) * 1e9
end

-- Seconds (number or numeric string) to nanoseconds.
function M.seconds_to_ns(sec)
    return tonumber(sec) * 1e9
end

-- Milliseconds (number or numeric string) to nanoseconds.
function M.milliseconds_to_ns(msec)
    return tonumber(msec) * 1e6
end

--[[ Building blocks --]]

local function named(patt, name) return Cg(patt, name) end

-- Alternation of words, each giving its 1-based position as a string.
local function word_index(words)
    local patt
    for i, w in ipairs(words) do
        local alt = P(w) / tostring(i)
        if patt then patt = patt + alt else patt = alt end
    end
    return patt
end

-- The texts of the parts (uncaptured).
local mday_text = P"0" * R"19" + R"12" * digit + P"3" * R"01"
local hour_text = R"01" * digit + P"2" * R"03"
local minute_text = R"05" * digit
local second_text = R"05" * digit + P"60" -- 60: leap second

M.date_fullyear = named(digit * digit * digit * digit, "year")
M.date_month = named(P"0" * R"19" + P"1" * R"02", "month")
M.date_mabbr = named(word_index(M.month_abbr), "month")
M.date_mfull = named(word_index(M.month_names), "month")
M.date_mday = named(mday_text, "day")
M.date_mday_sp = named(P" " * R"19" + R"12" * digit + P"3" * R"01", "day")
M.time_hour = named(hour_text, "hour")
M.time_minute = named(minute_text, "min")
M.time_second = named(second_text, "sec")
M.time_secfrac = named(P"." * digit^1 / tonumber, "sec_frac")

local hour_number = hour_text / tonumber
local minute_number = minute_text / tonumber

-- "+HH:MM" / "-HH:MM"
M.rfc3339_time_numoffset = named(S"+-", "offset_sign")
    * named(hour_number, "offset_hour") * P":" * named(minute_number, "offset_min")
M.rfc3339_time_offset = P"Z" + M.rfc3339_time_numoffset
M.rfc3339_partial_time = M.time_hour * P":" * M.time_minute * P":" * M.time_second
    * M.time_secfrac^-1
M.rfc3339_full_date = M.date_fullyear * P"-" * M.date_month * P"-" * M.date_mday
M.rfc3339_full_time = M.rfc3339_partial_time * M.rfc3339_time_offset

-- "+HHMM" / "-HHMM", as strftime's %z writes it.
M.timezone_offset = named(S"+-", "offset_sign")
    * named(hour_number, "offset_hour") * named(minute_number, "offset_min")

-- Zone names the grammars know, as offsets from UTC.
local zone_offsets = {
    UTC = {"+", 0}, GMT = {"+", 0}, Z = {"+", 0},
    EST = {"-", 5}, EDT = {"-", 4}, CST = {"-", 6}, CDT = {"-", 5},
    MST = {"-", 7}, MDT = {"-", 6}, PST = {"-", 8}, PDT = {"-", 7},
}

-- A zone abbreviation: a known name sets the offset; up to five other letters
-- are accepted and read as UTC.
local function zone_part(i)
    return function(name) return (zone_offsets[name] or zone_offsets.UTC)[i] end
end
M.timezone = Cg(alpha^-5, "zone_name")
    * Cg(lpeg.Cb"zone_name" / zone_part(1), "offset_sign")
    * Cg(lpeg.Cb"zone_name" / zone_part(2), "offset_hour")
    * Cg(Cc(0), "offset_min")

--[[ RFC 3339: 1999-05-05T23:23:59.217-07:00 --]]
M.rfc3339 = Ct(M.rfc3339_full_date * P"T" * M.rfc3339_full_time)

--[[ strftime formats --]]

local function current_century()
    return string.sub(os.date("!%Y"), 1, 2)
end

local spec = {}
spec.a = word_index(M.day_abbr)
spec.A = word_index(M.day_names)
spec.b = M.date_mabbr
spec.h = M.date_mabbr
spec.B = M.date_mfull
spec.C = digit * digit
spec.y = named(digit * digit / function(yy) return current_century() .. yy end, "year")
spec.g = spec.y
spec.Y = M.date_fullyear
spec.G = M.date_fullyear
spec.m = M.date_month
spec.d = M.date_mday
spec.e = M.date_mday_sp
spec.H = M.time_hour
spec.k = named((P" " * digit + R"01" * digit + P"2" * R"03") / function(h)
    return (string.gsub(h, " ", "0")) end, "hour")
spec.I = named(P"0" * R"19" + P"1" * R"02", "hour")
spec.l = named((P" " * R"19" + P"0" * R"19" + P"1" * R"02") / function(h)
    return (string.gsub(h, " ", "0")) end, "hour")
spec.M = M.time_minute
spec.S = named(R"05" * digit + P"6" * S"01", "sec")
spec.p = named(P"AM" + P"PM", "period")
spec.j = P"00" * R"19" + P"0" * R"19" * digit + R"12" * digit * digit
    + P"3" * R"05" * digit + P"36" * R"06"
spec.u = R"17"
spec.w = R"06"
spec.U = R"04" * digit + P"5" * R"03"
spec.V = spec.U
spec.W = spec.U
spec.n = P"\n"
spec.t = P"\t"
spec["%"] = P"%"
spec.s = named(digit^1 / tonumber, "time_t")
spec.z = M.timezone_offset
spec.Z = M.timezone
spec.T = M.time_hour * P":" * M.time_minute * P":" * M.time_second
spec.X = spec.T
spec.R = M.time_hour * P":" * M.time_minute
spec.r = spec.I * P":" * M.time_minute * P":" * M.time_second * P" " * spec.p
spec.D = M.date_month * P"/" * M.date_mday * P"/" * spec.y
spec.x = spec.D
spec.F = M.date_fullyear * P"-" * M.date_month * P"-" * M.date_mday
spec.c = spec.a * P" " * M.date_mabbr * P" " * M.date_mday_sp * P" " * spec.T
    * P" " * M.date_fullyear

local function specifier(letter)
    local g = spec[letter]
    if not g then error("unknown strftime specifier: " .. letter, 0) end
    return g
end

-- Turns a strftime format into an LPeg grammar capturing a time table. A
-- whitespace character in the format matches one whitespace character; an
-- unknown %-specifier is an error.
function M.build_strftime_grammar(format)
    local ws = space / function() return space end
    local directive = P"%" * C(alnum + P"%") / specifier
    local literal = C((1 - (space + P"%"))^1) / P
    local items = Ct((ws + directive + literal)^1) * -1
    local parts = items:match(format or "")
    if not parts then error("could not parse the strftime format", 0) end
    local grammar = parts[1]
    for i = 2, #parts do grammar = grammar * parts[i] end
    return Ct(grammar)
end

--[[ Common Log Format: 10/Feb/2014:08:46:41 -0800 --]]
M.clf_timestamp = Ct(M.date_mday * P"/" * M.date_mabbr * P"/" * M.date_fullyear
    * P":" * spec.T * P" " * M.timezone_offset)

-- The same text straight to nanoseconds: what `clf_timestamp / time_to_ns` gives,
-- without the table (an extension; the access log grammars use it on every line).
do
    local month_number = P(false)
    for i, m in ipairs(M.month_abbr) do month_number = month_number + P(m) * Cc(i) end
    -- The digit strings take part in the arithmetic as numbers (Lua converts them as
    -- tonumber does), which saves a call per part.
    local function to_ns(day, month, year, h, m, s, sign, off_h, off_m)
        local secs = days_since_epoch(year, month, day) * 86400 + h * 3600 + m * 60 + s
        local shift = off_h * 3600 + off_m * 60
        if sign == "+" then shift = -shift end
        return (secs + 0 + shift) * 1e9
    end
    local parts = (C(mday_text) * P"/" * month_number * P"/"
        * C(digit * digit * digit * digit) * P":" * C(hour_text) * P":" * C(minute_text) * P":"
        * C(second_text) * P" " * C(S"+-") * C(hour_text) * C(minute_text)) / to_ns
    -- A log holds many lines of one second: the text of the last time converted is kept with
    -- its value, and the same text (one interned Lua string) is answered without converting.
    local month_text = P(false)
    for _, m in ipairs(M.month_abbr) do month_text = month_text + P(m) end
    local text = mday_text * P"/" * month_text * P"/" * digit * digit * digit * digit * P":"
        * hour_text * P":" * minute_text * P":" * second_text * P" " * S"+-" * hour_text
        * minute_text
    local last_text, last_ns
    M.clf_timestamp_ns = C(text) / function(t)
        if t ~= last_text then
            last_text, last_ns = t, parts:match(t)
        end
        return last_ns
    end
end

--[[ RFC 3164 (BSD syslog): "Feb  9 08:46:41", in the current year --]]
do
    local sp = P" "^1
    M.rfc3164_timestamp = Ct(M.date_mabbr * sp * named(digit^-2, "day") * sp * spec.T
        * named(Cc(true) / function() return os.date("!%Y") end, "year"))
end

--[[ Databases --]]
M.mysql_timestamp = Ct(M.date_fullyear * M.date_month * M.date_mday * M.time_hour
    * M.time_minute * M.time_second)
M.pgsql_timestamp = Ct(M.rfc3339_full_date * P" " * spec.T)

return M
