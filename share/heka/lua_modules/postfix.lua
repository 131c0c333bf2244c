-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
postfix: LPeg grammars for the syslog messages of the Postfix mail server's
daemons (the patterns of the postfix-grok-patterns project).

postfix_match(programname, message, extract_keyvalue_data)
    `programname` is the syslog program name, "postfix/<daemon>" (any prefix
    before the "/": "postfix-in/smtpd" works too); `message` the message text.
    Returns a table of fields named postfix_* (postfix_queueid,
    postfix_client_hostname, postfix_client_ip, postfix_client_port,
    postfix_relay_*, postfix_status, postfix_keyvalue_data, ...), or nil
    when the daemon is unknown or the message does not match.
    Addresses and host names are {value = ..., representation = "ipv4",
    "ipv6" or "hostname"}; ports, sizes, counts and codes are integer fields
    ({value = n, value_type = 2}); postfix_delay is a number.
    With `extract_keyvalue_data`, the "key=value, ..." text in
    postfix_keyvalue_data becomes fields postfix_<key> (postfix_to,
    postfix_relay, postfix_dsn, ...), with client=, relay= and delays= split
    further (postfix_delay_before_qmgr, postfix_delay_in_qmgr,
    postfix_delay_conn_setup, postfix_delay_transmission).

Daemons: anvil, bounce, cleanup, discard, dnsblog, lmtp, local, master,
pickup, pipe, postdrop, postscreen, qmgr, scache, sendmail, smtp, smtpd,
tlsmgr, tlsproxy, trivial_rewrite.

Part of "Heka, rebuilt in Rust"; same API and field names as Heka 0.10's
lua_sandbox module.
--]]

local lpeg = require "lpeg"
local string = require "string"
local ip = require "ip_address"
local tonumber = tonumber
local type = type
local pairs = pairs
local ipairs = ipairs
local rawset = rawset

local P, R, S, C, Cc, Cf, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cf, lpeg.Cg,
    lpeg.Ct
local digit = R"09"
local alpha = R("az", "AZ")
local alnum = alpha + digit
local xdigit = R("09", "af", "AF")
local any = P(1)
local eos = P(-1)
local nonblank = any - S" \t\n\r\f\v"

local M = {}

--[[ Pieces --]]

local integer = digit^1 / tonumber
local number = digit^1 * (P"." * digit^1)^-1 / tonumber

-- A named capture of the text `patt` matches.
local function text(name, patt)
    return Cg(C(patt), name)
end

-- The text before `stop` as `name`; `stop` is not consumed.
local function before(name, stop)
    return Cg(C((any - P(stop))^1), name)
end

-- The rest of the message as `name`.
local function rest(name)
    return Cg(C(any^1), name)
end

local function tagged(patt, representation)
    return Ct(Cg(C(patt), "value") * Cg(Cc(representation), "representation"))
end
local address = tagged(ip.v4, "ipv4") + tagged(ip.v6, "ipv6")
local host = address + tagged((any - S"[] ")^1, "hostname")
local port = Ct(Cg(integer, "value") * Cg(Cc(2), "value_type"))

local queueid_patt = alnum^15 + xdigit^6 + P"NOQUEUE"
local queueid = text("postfix_queueid", queueid_patt)

-- "host[1.2.3.4]:25" (host and port optional) as postfix_<who>_hostname, _ip, _port.
local client_info = Cg(host, "postfix_client_hostname")^-1
    * P"[" * Cg(address, "postfix_client_ip") * P"]"
    * (P":" * Cg(port, "postfix_client_port"))^-1
local relay_info = Cg(host, "postfix_relay_hostname")^-1
    * P"[" * (Cg(address, "postfix_relay_ip") + before("postfix_relay_service", "]")) * P"]"
    * (P":" * Cg(port, "postfix_relay_port"))^-1

local function one_of(words)
    local p = P(false)
    for _, w in ipairs(words) do p = p + P(w) end
    return p
end
local smtp_stage = one_of{"CONNECT", "HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA",
                          "RSET", "UNKNOWN", "END-OF-MESSAGE", "VRFY", "."}
local action = one_of{"reject", "defer", "accept", "header-redirect"}
local status_code = digit * digit * digit / tonumber
local enhanced_code = digit * P"." * digit * P"." * digit
local lost_connection = one_of{"lost connection", "timeout", "Connection timed out"}
local keyvalue_after_queueid = queueid * P": " * rest("postfix_keyvalue_data")
local warning = (P"warning" + P"fatal") * P": " * rest("postfix_warning")

local tls_connection = one_of{"Anonymous", "Trusted", "Untrusted", "Verified"}
    * P" TLS connection established "
    * (P"to " * relay_info + P"from " * client_info) * P": "
    * text("postfix_tls_version", nonblank^0) * P" with cipher "
    * text("postfix_tls_cipher", nonblank^0) * P" ("
    * text("postfix_tls_cipher_size", nonblank^0) * P" bits)"

local delays = Ct(Cg(number, "postfix_delay_before_qmgr") * P"/"
    * Cg(number, "postfix_delay_in_qmgr") * P"/" * Cg(number, "postfix_delay_conn_setup")
    * P"/" * Cg(number, "postfix_delay_transmission"))

--[[ "key=value, key=<value>, ..." --]]

local pair_end = P", " * alpha^1 * P"=" + P"," * eos + eos
local kv_value = P"<" * C((any - P">" * pair_end)^0) * P">" + C((any - pair_end)^0)
local kv_pair = Cg(C(alpha^1) * P"=" * kv_value) * (P", " + P"," * eos + eos)^-1
local keyvalues = Cf(Ct"" * kv_pair^0, rawset)

--[[ smtpd --]]

local dnsbl_message = P"Service unavailable; " * (any - P"[")^0 * P"["
    * Cg(C((any - P"]")^0), "postfix_status_data") * P"] "
    * before("postfix_status_message", P"; " * alpha^1 * P"=") * P";"
local noqueue = P"NOQUEUE: " * text("postfix_action", action) * P": "
    * text("postfix_smtp_stage", smtp_stage) * P" from " * client_info * P": "
    * Cg(status_code, "postfix_status_code") * P" "
    * text("postfix_status_code_enhanced", enhanced_code)
    * (P" <" * before("postfix_status_data", ">") * P">:")^-1 * P" "
    * (dnsbl_message + Cg(C((any - P";")^0), "postfix_status_message") * P";")
    * P" " * rest("postfix_keyvalue_data")

local smtpd = Ct(
    P"connect from " * client_info
    + P"disconnect from " * client_info
    + text("postfix_smtpd_lostconn_data", lost_connection) * P" after "
        * text("postfix_smtp_stage", smtp_stage) * (P" (" * digit^1 * P" bytes)")^-1
        * P" from " * client_info
    + before("postfix_action", " from ") * P" from " * client_info * P": "
        * text("postfix_smtpd_lostconn_data", lost_connection)
    + noqueue
    + P"improper command pipelining after " * text("postfix_smtp_stage", smtp_stage)
        * P" from " * client_info * P":"
    + tls_connection
    + warning
    + P"proxy-" * text("postfix_proxy_result", action) * P": "
        * text("postfix_proxy_smtp_stage", smtp_stage) * P": "
        * (Cg(status_code, "postfix_proxy_status_code") * P" ")^-1
        * (text("postfix_proxy_status_code_enhanced", enhanced_code) * P" ")^-1
        * (any - P";")^0 * P"; " * rest("postfix_keyvalue_data")
    + keyvalue_after_queueid)

--[[ cleanup, qmgr, pipe, local --]]

local cleanup = Ct(
    queueid * P": milter-" * text("postfix_milter_result", action) * P": "
        * before("postfix_milter_message", ";") * P"; "
        * before("postfix_keyvalue_data", ":") * (P": " * rest("postfix_milter_data"))^-1
    + warning
    + keyvalue_after_queueid)

local qmgr = Ct(
    queueid * P": removed"
    + queueid * P": " * before("postfix_keyvalue_data", " (") * P" (queue active)"
    + warning)

local pipe = Ct(
    queueid * P": " * before("postfix_keyvalue_data", " (") * P" (delivered via "
        * text("postfix_pipe_service", alnum^1)
    + queueid * P": " * before("postfix_keyvalue_data", " (") * P" (mail forwarding loop for "
        * before("postfix_to", ")"))

--[[ postscreen and dnsblog --]]

local violation = text("postfix_postscreen_violation", one_of{
    "BARE NEWLINE", "COMMAND TIME LIMIT", "COMMAND COUNT LIMIT", "COMMAND LENGTH LIMIT",
    "COMMAND PIPELINING", "DNSBL", "HANGUP", "NON-SMTP COMMAND", "PREGREET"})

local postscreen = Ct(
    P"CONNECT from " * client_info * P" to [" * Cg(address, "postfix_server_ip") * P"]:"
        * Cg(number, "postfix_server_port")
    + text("postfix_postscreen_access", one_of{"DISCONNECT", "BLACKLISTED", "WHITELISTED",
                                               "WHITELIST VETO", "PASS NEW", "PASS OLD"})
        * P" " * client_info
    + noqueue
    + P"NOQUEUE: reject: CONNECT from " * client_info * P": "
        * rest("postfix_postscreen_toobusy_data")
    + P"cache " * (any - P" ")^1 * P" full cleanup: retained="
        * Cg(integer, "postfix_postscreen_cache_retained") * P" dropped="
        * Cg(integer, "postfix_postscreen_cache_dropped") * P" entries"
    + violation * P" rank " * Cg(integer, "postfix_postscreen_dnsbl_rank") * P" for "
        * client_info
    + violation * (P" " * digit^1)^-1
        * (P" after " * Cg(number, "postfix_postscreen_violation_time"))^-1
        * P" from " * client_info * (P" after " * text("postfix_smtp_stage", smtp_stage))^-1
    + warning)

local dnsblog = Ct(P"addr " * Cg(address, "postfix_client_ip") * P" listed by domain "
    * Cg(host, "postfix_dnsbl_domain") * P" as " * Cg(address, "postfix_dnsbl_result"))

--[[ anvil --]]

local service = before("postfix_service", ":") * P":" * Cg(address, "postfix_client_ip")
    + Cg(C((any - P":")^1 * P":" * digit^1), "postfix_service") * P":"
        * Cg(address, "postfix_client_ip")
local at_time = P") at " * rest("postfix_anvil_timestamp")

local anvil = Ct(
    P"statistics: max connection rate " * Cg(integer, "postfix_anvil_conn_rate") * P"/"
        * text("postfix_anvil_conn_period", digit^1 * S"smhd") * P" for (" * service * at_time
    + P"statistics: max cache size " * Cg(integer, "postfix_anvil_cache_size") * P" at "
        * rest("postfix_anvil_timestamp")
    + P"statistics: max connection count " * Cg(integer, "postfix_anvil_conn_count")
        * P" for (" * service * at_time)

--[[ smtp and lmtp --]]

local smtp = Ct(
    queueid * P": " * before("postfix_keyvalue_data", " status=") * P" status="
        * text("postfix_status", alpha^1)
        * (P" (" * Cg(C((any - P")" * eos)^1), "postfix_smtp_response") * P")")^-1
    + P"connect to " * relay_info * P": "
        * one_of{"Connection timed out", "No route to host", "Connection refused"}
    + queueid * P": " * lost_connection * P" with " * relay_info
    + tls_connection
    + warning)

--[[ the others --]]

local master = Ct(
    (P"daemon started" + P"reload") * P" -- version " * before("postfix_version", ",")
        * P", configuration " * rest("postfix_config_path")
    + P"terminating on signal " * Cg(integer, "postfix_termination_signal"))

local bounce = Ct(queueid * P": sender "
    * one_of{"non-delivery", "delivery status", "delay"} * P" notification: "
    * text("postfix_bounce_queueid", queueid_patt))

local scache = Ct(
    P"statistics: " * (P"address" + P"domain") * P" lookup hits="
        * Cg(integer, "postfix_scache_hits") * P" miss=" * Cg(integer, "postfix_scache_miss")
        * P" success=" * Cg(integer, "postfix_scache_success")
    + P"statistics: max simultaneous domains=" * Cg(integer, "postfix_scache_domains")
        * P" addresses=" * Cg(integer, "postfix_scache_addresses") * P" connection="
        * Cg(integer, "postfix_scache_connection")
    + P"statistics: start interval " * rest("postfix_scache_timestamp"))

local discard = Ct(queueid * P": " * before("postfix_keyvalue_data", " status=") * P" status="
    * text("postfix_status", alnum^1))

local pickup = Ct(queueid * P": uid=" * before("postfix_uid", " from=") * P" from=<"
    * before("postfix_from", ">") * (P"> orig_id=" * rest("postfix_orig_id"))^-1)

local tlsproxy = Ct((P"DISCONNECT" + P"CONNECT") * P" from"^-1 * P" " * client_info)

local warnings_only = Ct(warning)

local daemons = {
    smtpd = smtpd, cleanup = cleanup, qmgr = qmgr, pipe = pipe, postscreen = postscreen,
    dnsblog = dnsblog, anvil = anvil, smtp = smtp, lmtp = smtp, discard = discard,
    pickup = pickup, tlsproxy = tlsproxy, master = master, bounce = bounce,
    sendmail = warnings_only, postdrop = warnings_only, scache = scache,
    trivial_rewrite = warnings_only, tlsmgr = warnings_only,
    ["local"] = Ct(keyvalue_after_queueid),
    -- Parts on their own, as lua_sandbox's tests used them.
    relay_info = Ct(relay_info), delays = delays, keyvalue_data = keyvalues,
}

local daemon_of = (any - P"/")^1 * P"/" * C(any^1)

local client_table = Ct(client_info)
local relay_table = Ct(relay_info)

local integer_fields = {"postfix_anvil_cache_size", "postfix_anvil_conn_count",
    "postfix_anvil_conn_rate", "postfix_client_port", "postfix_nrcpt",
    "postfix_postscreen_cache_dropped", "postfix_postscreen_cache_retained",
    "postfix_postscreen_dnsbl_rank", "postfix_relay_port", "postfix_server_port",
    "postfix_size", "postfix_status_code", "postfix_termination_signal", "postfix_uid"}

-- Copies the members of `from` into `to`.
local function merge(to, from)
    for k, v in pairs(from) do to[k] = v end
end

-- Replaces the field `name` (text) by what `grammar` makes of it, when it matches.
local function split_field(t, name, grammar)
    local v = t[name]
    if not v then return end
    local parts = grammar:match(v)
    if parts then
        t[name] = nil
        merge(t, parts)
    end
end

-- The plain value of a field that may be {value = ...}.
local function plain(v)
    if type(v) == "table" then return v.value end
    return v
end

function M.postfix_match(programname, message, extract_keyvalue_data)
    local daemon = daemon_of:match(programname or "")
    if not daemon then return nil end
    local grammar = daemons[daemon]
    if not grammar then return nil end
    local t = grammar:match(message or "")
    if not t then return nil end

    if extract_keyvalue_data and t.postfix_keyvalue_data then
        local kv = keyvalues:match(t.postfix_keyvalue_data)
        if kv then
            t.postfix_keyvalue_data = nil
            for k, v in pairs(kv) do t["postfix_" .. k] = v end
            split_field(t, "postfix_client", client_table)
            split_field(t, "postfix_relay", relay_table)
            split_field(t, "postfix_delays", delays)
        end
    end
    for _, name in ipairs(integer_fields) do
        if t[name] then
            t[name] = {value = tonumber(plain(t[name])), value_type = 2}
        end
    end
    if t.postfix_delay then t.postfix_delay = tonumber(plain(t.postfix_delay)) end
    return t
end

return M
