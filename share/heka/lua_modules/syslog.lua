-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
syslog: builds LPeg grammars from rsyslog templates.

build_rsyslog_grammar(template) -- rsyslog template string -> grammar
severity                        -- grammar: severity name -> number (0-7)

A grammar matches a line rsyslog wrote with the template and captures a
table keyed by the lower-cased property names (`timereported` is captured as
`timestamp`): times in nanoseconds since the Unix epoch, `pri` as
{facility = n, severity = n}, `syslogtag` as {programname = s, pid = n},
`structured-data` as {id = s, _<param> = value, ...} (empty for "-").

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's lua_sandbox module.
--]]

local lpeg = require "lpeg"
local string = require "string"
local dt = require "date_time"
local ip = require "ip_address"
local tonumber = tonumber
local error = error
local ipairs = ipairs
local rawset = rawset

local P, R, S, C, Cg, Ct, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cc
local digit = R"09"
local alnum = R("az", "AZ", "09")
local space = S" \t\n\r\f\v"
local printable = R"!~" -- printable US-ASCII without the space
local dash = P"-"
local bom = P"\239\187\191"

local M = {}

-- Alternation of names (lower or upper case) mapped to numbers; longer names
-- that share a prefix with a shorter one must come first.
local function named_numbers(list)
    local p = P(false)
    for _, entry in ipairs(list) do
        local name, n = entry[1], entry[2]
        p = p + (P(name) + P(string.upper(name))) * Cc(n)
    end
    return p
end

local severity_names = named_numbers{
    {"debug", 7}, {"info", 6}, {"notice", 5}, {"warning", 4}, {"warn", 4},
    {"error", 3}, {"err", 3}, {"crit", 2}, {"alert", 1}, {"emerg", 0}, {"panic", 0},
}
M.severity = severity_names

local facility_names = named_numbers{
    {"kern", 0}, {"user", 1}, {"mail", 2}, {"daemon", 3}, {"authpriv", 10}, {"auth", 4},
    {"security", 4}, {"syslog", 5}, {"lpr", 6}, {"news", 7}, {"uucp", 8}, {"cron", 9},
    {"ftp", 11}, {"ntp", 12}, {"audit", 13}, {"alert", 14}, {"clock", 15},
    {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},
    {"local5", 21}, {"local6", 22}, {"local7", 23},
}

-- <PRI>: facility * 8 + severity.
local pri = (digit * digit^-2) / function(text)
    local n = tonumber(text)
    local severity = n % 8
    return {facility = (n - severity) / 8, severity = severity}
end

-- RFC 5424 structured data: one element, its parameters prefixed with "_".
local sd_name = (printable - S'=]" ')^-32
local param_value = ((1 - S'"\\]') + P"\\" * P(1))^0 / function(v)
    return (string.gsub(v, '\\([]"\\])', "%1"))
end
local sd_param = Cg((sd_name / function(n) return "_" .. n end) * P'="' * param_value * P'"')
local sd_element = P"[" * lpeg.Cf(Ct"" * Cg(Cc"id" * C(sd_name)) * (P" " * sd_param)^0, rawset)
    * P"]"

local programname = (printable - S" :[")^0
local hostname = dash + printable^-255

-- The time formats a date option names, each giving nanoseconds.
local time_formats = {
    ["date-rfc3164"] = dt.rfc3164_timestamp / dt.time_to_ns,
    ["date-rfc3164-buggyday"] = dt.rfc3164_timestamp / dt.time_to_ns,
    ["date-mysql"] = dt.mysql_timestamp / dt.time_to_ns,
    ["date-pgsql"] = dt.pgsql_timestamp / dt.time_to_ns,
    ["date-rfc3339"] = dt.rfc3339 / dt.time_to_ns,
    ["date-unixtimestamp"] = digit^1 / dt.seconds_to_ns,
    ["date-subseconds"] = digit^1 / tonumber,
}

local function time_property(prop)
    local format = prop.options and time_formats[string.lower(prop.options)]
    return format or time_formats["date-rfc3164"]
end

local properties = {
    rawmsg = P(1)^0,
    hostname = hostname,
    source = hostname,
    fromhost = hostname,
    ["fromhost-ip"] = ip.v4 + ip.v6,
    syslogtag = Ct(Cg(programname, "programname")
        * (P"[" * Cg(digit^1 / tonumber, "pid") * P"]")^-1 * P":"^-1),
    programname = programname,
    pri = pri,
    ["pri-text"] = facility_names * P"." * severity_names * P"<" * pri * P">",
    iut = digit^1,
    syslogfacility = digit^-3 / tonumber,
    ["syslogfacility-text"] = facility_names,
    syslogseverity = digit / tonumber,
    ["syslogseverity-text"] = severity_names,
    syslogpriority = digit / tonumber,
    ["syslogpriority-text"] = severity_names,
    timegenerated = time_property,
    timereported = time_property,
    timestamp = time_property,
    ["protocol-version"] = digit^1,
    ["structured-data"] = Ct"" * dash + sd_element,
    ["app-name"] = dash + printable^-48,
    procid = dash + printable^-128,
    msgid = dash + printable^-32,
    inputname = printable^0,
    ["$bom"] = bom,
    ["$now"] = dt.rfc3339_full_date,
    ["$year"] = dt.date_fullyear,
    ["$month"] = dt.date_month,
    ["$day"] = dt.date_mday,
    ["$hour"] = dt.time_hour,
    ["$hhour"] = P"0" * S"01",
    ["$qhour"] = P"0" * R"03",
    ["$minute"] = dt.time_minute,
}

local escapes = {t = "\t", n = "\n", r = "\r", ['"'] = '"', ["'"] = "'", ["\\"] = "\\",
                 ["%"] = "%", a = "\a", b = "\b", f = "\f", v = "\v"}
local escape = P"\\" * (C(S"tnr\"'\\%abfv") / escapes
    + C(digit * digit^-2) / function(d)
        local n = tonumber(d)
        if n > 255 then error("bad escape in rsyslog template: \\" .. d, 0) end
        return string.char(n)
    end
    + C(P(1)^-1) / function(c) error("bad escape in rsyslog template: \\" .. c, 0) end)
    / function(value) return value end
local unescaped = lpeg.Cs((escape + P(1))^0)

-- Returns the grammar for an rsyslog template; errors on a property it does
-- not know. `%prop:from:to:options%`: from/to are read and ignored, and the
-- options are one option (the date formats and sp-if-no-1st-sp act).
function M.build_rsyslog_grammar(template)
    if type(template) ~= "string" then error("template: a string is required", 0) end
    local msg_end = P"\n" -- what ends %msg%: see below
    local parts = {}

    local name = Cg((alnum + S"-$")^1, "name")
    local substr = P":" * Cg((1 - P":")^0, "from") * P":" * Cg((1 - S":%")^0, "to")
    local options = P":" * Cg((1 - P"%")^0, "options")
    local property = P"%" * Ct(name * substr^-1 * options^-1) * P"%" * lpeg.Cp()
    local literal = (1 - (space + property))^1 * lpeg.Cp()

    local pos = 1
    while pos <= #template do
        local ws_end = lpeg.match(space * lpeg.Cp(), template, pos)
        local prop, prop_end = lpeg.match(property, template, pos)
        if ws_end then
            parts[#parts + 1] = space
            pos = ws_end
        elseif prop then
            if prop.options == "sp-if-no-1st-sp" then
                parts[#parts + 1] = P" "^1
            else
                local pname = string.lower(prop.name)
                local g
                if pname == "msg" then
                    -- The message runs to the last character of the literal
                    -- right before it, else to the end of the line.
                    g = (1 - msg_end)^0
                else
                    g = properties[pname]
                    if not g then
                        error(string.format("invalid rsyslog property: '%s'", pname), 0)
                    end
                    if type(g) == "function" then g = g(prop) end
                end
                if pname == "timereported" then pname = "timestamp" end
                parts[#parts + 1] = Cg(g, pname)
                msg_end = P"\n"
            end
            pos = prop_end
        else
            local lit_end = lpeg.match(literal, template, pos) or pos + 1
            local text = lpeg.match(unescaped, string.sub(template, pos, lit_end - 1))
            parts[#parts + 1] = P(text)
            msg_end = P(string.sub(text, -1))
            pos = lit_end
        end
    end
    if #parts == 0 then error("could not parse the rsyslog template", 0) end
    local g = P(true)
    for _, p in ipairs(parts) do g = g * p end
    return Ct(g)
end

return M
