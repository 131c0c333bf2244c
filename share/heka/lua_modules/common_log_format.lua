-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
common_log_format: builds LPeg grammars for web server access logs from the
server's own log format string, and normalises user agents.

build_nginx_grammar(log_format)   -- nginx `log_format` text -> grammar
build_apache_grammar(log_format)  -- Apache `LogFormat` text -> grammar
normalize_user_agent(ua)          -- -> browser, version, os (each may be nil)
nginx_error_grammar               -- an nginx error log line -> a message table

A grammar matches the start of a log line and captures a table of fields
named after nginx's variables (Apache directives are mapped onto the same
names, so filters work for both servers). Time variables are captured as
`time`, in nanoseconds since the Unix epoch. Numbers are Lua numbers; a
field with a unit is a table {value = ..., representation = ...}.

Part of "Heka, rebuilt in Rust"; same API and field names as Heka 0.10's
lua_sandbox module, so Heka's decoders and users' scripts run unchanged.
--]]

local lpeg = require "lpeg"
local string = require "string"
local dt = require "date_time"
local ip = require "ip_address"
local tonumber = tonumber
local error = error
local ipairs = ipairs
local pairs = pairs

local P, R, S, C, Cg, Ct, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cc
local digit = R"09"
local alpha = R("az", "AZ")
local space = S" \t\n\r\f\v"

local M = {}

--[[ Shared pieces --]]

local integer = digit^1 / tonumber
local decimal = digit^1 * P"." * digit^1

-- A value with a unit: {value = ..., representation = unit} (`value` captures one value).
-- A function capture builds the table: cheaper than a table capture of two groups.
local function with_unit(value, unit)
    return value / function(v) return {value = v, representation = unit} end
end

local bytes = with_unit(integer, "B")

-- A host: an IPv4 or IPv6 address, else a host name (RFC 3986 reg-name
-- characters), each tagged with what it is.
local pct_encoded = P"%" * R("09", "af", "AF") * R("09", "af", "AF")
local reg_name_char = R("az", "AZ", "09") + S"-._~!$&'()*+,;=" + pct_encoded
local host = with_unit(C(ip.v4), "ipv4")
    + with_unit(C(ip.v6), "ipv6")
    + with_unit(C(reg_name_char^1), "hostname")

-- Three digits to their number through a table (what tonumber gives, without a call).
local status_numbers = {}
for i = 0, 999 do status_numbers[string.format("%03d", i)] = i end
local status = digit * digit * digit / status_numbers

local clf_time = dt.clf_timestamp_ns

-- Alternation of the given words (captures nothing).
local function one_of(words)
    local p = P(false)
    for _, w in ipairs(words) do p = p + P(w) end
    return p
end

local request_method = one_of{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
                              "TRACE", "CONNECT"}

-- The text up to `delimiter` (a pattern, or `"` for a quoted value in which
-- \" may appear).
local function text_until(delimiter)
    if delimiter == '"' then
        -- Runs of plain characters as one span (as fast as LPeg gets), then \" or a
        -- lone \: the same text as (P'\\"' + (1 - P'"'))^0, several times faster.
        return ((1 - S'"\\')^1 + P'\\"' + P'\\')^0
    end
    return (1 - delimiter)^0
end

--[[ nginx --]]

-- Lists of upstream values: nginx separates the servers of one request with
-- ", " and the requests of an internal redirect with " : ".
local upstream_sep = P", " + P" : "
local function upstream_list(item)
    return Ct(item * (upstream_sep * item)^0)
end
local dash_as_zero = P"-" / function() return 0 end

local nginx_variables = {
    body_bytes_sent = bytes,
    bytes_sent = bytes,
    content_length = bytes,
    request_length = bytes,

    connection = integer,
    connection_requests = integer,
    pid = integer,
    remote_port = integer,
    server_port = integer,
    tcpinfo_rtt = integer,
    tcpinfo_rttvar = integer,
    tcpinfo_snd_cwnd = integer,
    tcpinfo_rcv_space = integer,

    remote_addr = host,
    host = host,
    hostname = host,
    server_addr = host,
    server_name = host,
    proxy_protocol_addr = host,

    status = status,
    request_time = with_unit(decimal / tonumber, "s"),
    binary_remote_addr = P(4),
    https = P"on" + P"",
    is_args = P"?" + P"",
    request_completion = P"OK" + P"",
    pipe = S"p.",
    nginx_version = digit^1 * P"." * digit^1 * P"." * digit^1,
    server_protocol = P"HTTP/" * digit^1 * P"." * digit^1,
    scheme = P"https" + P"http",
    request_method = request_method,

    upstream_addr = upstream_list(C((1 - S", ")^1)) + P"-",
    upstream_cache_status = one_of{"HIT", "MISS", "EXPIRED", "BYPASS", "STALE",
                                   "UPDATING", "REVALIDATED", "-"},
    upstream_cache_last_modified =
        dt.build_strftime_grammar("%a, %d %b %Y %T GMT") / dt.time_to_ns + P"-",
    upstream_response_length = with_unit(upstream_list(integer), "B") + P"-",
    upstream_response_time = with_unit(upstream_list(decimal / tonumber + dash_as_zero), "s"),
    upstream_status = upstream_list(status + dash_as_zero),
}

-- The nginx variables that give the message its time.
local nginx_times = {
    time_local = clf_time,
    time_iso8601 = dt.rfc3339 / dt.time_to_ns,
    msec = decimal / dt.seconds_to_ns,
}

-- Turns a list of token grammars into their sequence, captured as a table.
local function sequence(parts)
    local g = P(true)
    for _, p in ipairs(parts) do g = g * p end
    return Ct(g)
end

-- Returns the grammar for an nginx `log_format`, or nil if the format is empty.
function M.build_nginx_grammar(log_format)
    if type(log_format) ~= "string" then return nil end
    local delimiter = space -- what ends a free-text variable
    local parts = {}
    local pos = 1
    local len = #log_format
    while pos <= len do
        local ws_end = lpeg.match(space^1 * lpeg.Cp(), log_format, pos)
        local name, var_end = lpeg.match(P"$" * C((R("az", "AZ", "09") + P"_")^1) * lpeg.Cp(),
                                         log_format, pos)
        if ws_end then
            parts[#parts + 1] = space^1
            delimiter = space
            pos = ws_end
        elseif name then
            local g = nginx_times[name]
            if g then
                g = Cg(g, "time")
            else
                g = nginx_variables[name]
                if g then
                    g = Cg(g, name)
                else
                    g = Cg(C(text_until(delimiter)), name)
                end
            end
            parts[#parts + 1] = g
            pos = var_end
        else
            -- A literal runs to the next whitespace or variable; a "$" not
            -- followed by a name is literal text too.
            local lit_end = lpeg.match(P(1) * (1 - (space + P"$" * (R("az", "AZ", "09") + P"_")))^0
                                       * lpeg.Cp(), log_format, pos)
            local lit = string.sub(log_format, pos, lit_end - 1)
            parts[#parts + 1] = P(lit)
            delimiter = string.sub(lit, -1)
            if delimiter ~= '"' then delimiter = P(delimiter) end
            pos = lit_end
        end
    end
    if #parts == 0 then return nil end
    return sequence(parts)
end

--[[ Apache --]]

-- Header-like names: lower case, "-" becomes "_".
local function field_name(prefix, arg)
    return prefix .. string.gsub(string.lower(arg), "-", "_")
end

local b_with_dash = with_unit(integer + P"-" / function() return 0 end, "B")

-- Directives without an argument: field name and grammar (nil: free text).
local apache_plain = {
    a = {"remote_addr", host},
    h = {"remote_addr", host},
    A = {"server_addr", host},
    v = {"server_name", host},
    V = {"server_name", host},
    B = {"body_bytes_sent", bytes},
    b = {"body_bytes_sent", b_with_dash},
    D = {"request_time", with_unit(integer, "us")},
    T = {"request_time", with_unit(integer, "s")},
    H = {"server_protocol", nginx_variables.server_protocol},
    m = {"request_method", request_method},
    s = {"status", status},
    k = {"connection_requests", integer},
    p = {"server_port", integer},
    P = {"pid", integer},
    I = {"request_length", bytes},
    O = {"response_length", bytes},
    S = {"total_length", bytes},
    t = {"time", P"[" * clf_time * P"]"},
    X = {"connection_status", S"X+-"},
    f = {"request_filename"},
    l = {"remote_user"},
    u = {"remote_user"},
    L = {"request_log_id"},
    q = {"query_string"},
    r = {"request"},
    R = {"request_handler"},
    U = {"uri"},
}

local apache_ports = {canonical = "server_port", ["local"] = "server_port",
                      remote = "remote_port"}

local apache_prefixes = {i = "http_", o = "sent_http_", C = "cookie_", e = "env_",
                         n = "module_"}

-- Field name and grammar (nil: free text) of a directive with an argument.
local function apache_with_arg(letter, arg)
    local prefix = apache_prefixes[letter]
    if prefix then
        if letter == "i" or letter == "o" then return field_name(prefix, arg) end
        return prefix .. arg
    end
    if letter == "a" then return "remote_addr", host end -- %{c}a: the peer
    if letter == "p" then
        local name = apache_ports[arg]
        if not name then error("unknown port format: " .. arg, 0) end
        return name, integer
    end
    if letter == "P" then
        if arg == "pid" then return "pid", integer end
        if arg == "tid" then return "tid", integer end
        if arg == "hextid" then
            return "tid", C(R("09", "af", "AF")^1) / function(h) return tonumber(h, 16) end
        end
        error("unknown pid format: " .. arg, 0)
    end
    if letter == "t" then
        -- The unit is recognised by its prefix, after an optional "begin:" or
        -- "end:"; anything else is a strftime format, taken whole.
        local unit = string.match(arg, "^begin:(.*)$") or string.match(arg, "^end:(.*)$") or arg
        local function unit_is(prefix) return string.sub(unit, 1, #prefix) == prefix end
        if unit_is("sec") then return "time", integer / dt.seconds_to_ns end
        if unit_is("msec_frac") or unit_is("usec_frac") then
            return "sec_frac", C(digit^1) / function(d) return tonumber("0." .. d) end
        end
        if unit_is("msec") then return "time", integer / dt.milliseconds_to_ns end
        if unit_is("usec") then
            return "time", integer / function(us) return us * 1e3 end
        end
        return "time", dt.build_strftime_grammar(arg) / dt.time_to_ns
    end
    error("unknown variable: " .. letter, 0)
end

-- A literal's backslash escapes resolved: \t, \n, \", \\ and \NNN (a
-- decimal byte); any other escape is an error.
local escape = P"\\" * (
      C(digit * digit^-2) / function(d)
          local n = tonumber(d)
          if n > 255 then error("bad escape in log format: \\" .. d, 0) end
          return string.char(n)
      end
    + P"t" / "\t"
    + P"n" / "\n"
    + C(S'"\\')
    + C(P(1)^-1) / function(c) error("bad escape in log format: \\" .. c, 0) end)
    / function(value) return value end -- the whole escape becomes its value
local unescaped = lpeg.Cs((escape + P(1))^0)
local function unescape(lit)
    return lpeg.match(unescaped, lit)
end

-- Returns the grammar for an Apache `LogFormat`. Errors on a directive the
-- module does not know.
function M.build_apache_grammar(log_format)
    if type(log_format) ~= "string" then return nil end
    local delimiter = space
    local parts = {}
    local pos = 1
    local len = #log_format

    local condition = P"!"^-1 * digit^3 * (P"," * digit^3)^0
    local with_arg = P"%" * condition^-1 * P"{" * C((1 - P"}")^1) * P"}" * C(alpha)
        * lpeg.Cp()
    local plain = P"%" * S"<>"^-1 * C(alpha) * lpeg.Cp()
    local percent = P"%%" * lpeg.Cp()
    local literal = ((P"\\" * P(1)) + (1 - (space + P"%")))^1 * lpeg.Cp()

    local function add_field(name, g)
        if g then
            parts[#parts + 1] = Cg(g, name)
        else
            parts[#parts + 1] = Cg(C(text_until(delimiter)), name)
        end
    end
    local function add_literal(text)
        parts[#parts + 1] = P(text)
        delimiter = string.sub(text, -1)
        if delimiter ~= '"' then delimiter = P(delimiter) end
    end

    while pos <= len do
        local ws_end = lpeg.match(space^1 * lpeg.Cp(), log_format, pos)
        local arg, letter, arg_end = lpeg.match(with_arg, log_format, pos)
        local p_letter, p_end = lpeg.match(plain, log_format, pos)
        local pct_end = lpeg.match(percent, log_format, pos)
        if ws_end then
            parts[#parts + 1] = space^1
            delimiter = space
            pos = ws_end
        elseif pct_end then
            parts[#parts + 1] = P"%" -- a directive: the delimiter stays
            pos = pct_end
        elseif arg then
            add_field(apache_with_arg(letter, arg))
            pos = arg_end
        elseif p_letter then
            local d = apache_plain[p_letter]
            if not d then error("unknown variable: " .. p_letter, 0) end
            add_field(d[1], d[2])
            pos = p_end
        else
            local lit_end = lpeg.match(literal, log_format, pos) or pos + 1
            add_literal(unescape(string.sub(log_format, pos, lit_end - 1)))
            pos = lit_end
        end
    end
    if #parts == 0 then return nil end
    return sequence(parts)
end

--[[ nginx error log --]]

-- nginx's error levels as syslog severities.
local nginx_error_level = P(false)
for name, severity in pairs{debug = 7, info = 6, notice = 5, warn = 4, error = 3, crit = 2,
                            alert = 1, emerg = 0} do
    nginx_error_level = nginx_error_level + P(name) * Cc(severity)
end

-- "2014/03/01 11:29:39 [notice] 16842#0: *8878 using inherited sockets from \"6;\"":
-- Timestamp, Severity (from the level), Pid, Fields {tid, connection (when
-- "*N " is there)} and Payload (the rest of the line), as inject_message takes it.
M.nginx_error_grammar = Ct(
    Cg(dt.build_strftime_grammar("%Y/%m/%d %T") / dt.time_to_ns, "Timestamp")
    * space * P"[" * Cg(nginx_error_level, "Severity") * P"]"
    * space * Cg(integer, "Pid") * P"#"
    * Cg(Ct(Cg(integer, "tid") * P": " * (P"*" * Cg(integer, "connection") * P" ")^-1),
         "Fields")
    * Cg(C(P(1)^0), "Payload"))

--[[ User agents --]]

-- Operating systems: the first whose marker appears in the user agent wins.
local ua_os = {
    {"iPod", "iPod"},
    {"iPad", "iPad"},
    {"iPhone", "iPhone"},
    {"Android", "Android"},
    {"BlackBerry", "BlackBerry"},
    {"Linux", "Linux"},
    {"Macintosh", "Macintosh"},
    {"Mozilla/5.0 (Mobile;", "FirefoxOS"},
    {"Windows NT 10.0", "Windows 10"},
    {"Windows NT 6.3", "Windows 8.1"},
    {"Windows NT 6.2", "Windows 8"},
    {"Windows NT 6.1", "Windows 7"},
    {"Windows NT 6.0", "Windows Vista"},
    {"Windows NT 5.1", "Windows XP"},
    {"Windows NT 5.0", "Windows 2000"},
}

-- The leading integer at `pos` of `ua`, or nil.
local function integer_at(ua, pos)
    return tonumber(string.match(ua, "^(%d+)", pos))
end

-- Version: the integer after the last "/".
local function after_last_slash(ua)
    local last
    local from = 1
    while true do
        local i = string.find(ua, "/", from, true)
        if not i then break end
        last, from = i, i + 1
    end
    if last then return integer_at(ua, last + 1) end
end

-- Version: the integer right after `marker`.
local function after(marker)
    return function(ua)
        local _, e = string.find(ua, marker, 1, true)
        if e then return integer_at(ua, e + 1) end
    end
end

-- Browsers: the first whose name appears in the user agent wins.
local ua_browsers = {
    {"Chrome", after("Chrome/")},
    {"Opera Mini", after_last_slash},
    {"Opera Mobi", after_last_slash},
    {"Opera", after_last_slash},
    {"MSIE", after("MSIE ")},
    {"Safari", after_last_slash},
    {"Firefox", after("Firefox/")},
}

-- Returns browser, version (number) and operating system of a user agent
-- string; each is nil when not recognised.
function M.normalize_user_agent(ua)
    if type(ua) ~= "string" then return nil end
    local browser, version, os
    for _, o in ipairs(ua_os) do
        if string.find(ua, o[1], 1, true) then
            os = o[2]
            break
        end
    end
    for _, b in ipairs(ua_browsers) do
        if string.find(ua, b[1], 1, true) then
            browser = b[1]
            version = b[2](ua)
            break
        end
    end
    return browser, version, os
end

return M
