-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
syslog_message: LPeg grammars for the text of syslog messages (the %msg% part)
of well-known programs, each capturing a table of fields.

get_prog_grammar(programname)
    The grammar for that program's messages, or nil: CRON, crontab, dhclient,
    dhcpd, login, groupadd, groupdel, named, puppet-agent, sshd, su, sudo,
    systemd-logind, useradd.
get_wildcard_grammar(name)
    A grammar for messages any program may write: "PAM" (pam_unix and the
    like). With a list of names, the list of their grammars; with no argument,
    the table of all of them by name.

Addresses are captured as {value = ..., representation = "ipv4"/"ipv6"},
numbers as numbers, everything else as strings. The field names are those of
Heka 0.10's lua_sandbox module (cron_username, dhcp_type, dns_name, sshd_method,
remote_addr, sudo_command, pam_action, ...).

Part of "Heka, rebuilt in Rust"; same API and field names as Heka 0.10's
lua_sandbox module.
--]]

local lpeg = require "lpeg"
local string = require "string"
local ip = require "ip_address"
local tonumber = tonumber
local type = type
local ipairs = ipairs

local P, R, S, C, Cc, Cg, Ct = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct
local digit = R"09"
local xdigit = R("09", "af", "AF")
local any = P(1)
local eos = P(-1)

local M = {}

local programs = {}
local wildcards = {}

--[[ Helpers --]]

local count = digit^1 / tonumber
local signed = P"-"^-1 * digit^1 / tonumber
local decimal = P"-"^-1 * digit^1 * (P"." * digit^1)^1 / tonumber
local address = Ct(Cg(C(ip.v4), "value") * Cg(Cc"ipv4", "representation"))
    + Ct(Cg(C(ip.v6), "value") * Cg(Cc"ipv6", "representation"))
local v4_address = Ct(Cg(C(ip.v4), "value") * Cg(Cc"ipv4", "representation"))

-- The text up to `stop` (a string or pattern) as `name`, then `stop` itself.
local function upto(name, stop)
    stop = P(stop)
    return Cg(C((any - stop)^0), name) * stop
end

-- The rest of the message (at least one character) as `name`.
local function rest(name)
    return Cg(C(any^1), name)
end

-- A named capture of `patt`'s text.
local function text(name, patt)
    return Cg(C(patt), name)
end

-- The alternatives given, as one table-capturing grammar.
local function choice(...)
    local g = P(false)
    for _, alt in ipairs{...} do g = g + alt end
    return Ct(g)
end

--[[ cron --]]

-- "(root) CMD ( cd / && run-parts --report /etc/cron.hourly)"
programs.CRON = Ct(P"(" * upto("cron_username", ") ") * upto("cron_event", " (")
    * upto("cron_detail", ")") * eos)
programs.crontab = programs.CRON

--[[ dhclient --]]

programs.dhclient = choice(
    text("dhcp_type", P"DHCPDISCOVER") * P" on " * upto("dhcp_client_interface", " to ")
        * Cg(v4_address, "dhcp_server_addr") * P" port " * Cg(count, "dhcp_server_port")
        * P" interval " * Cg(count, "dhcp_client_interval_seconds") * eos,
    text("dhcp_type", P"DHCPREQUEST" + P"DHCPDECLINE" + P"DHCPRELEASE") * P" on "
        * upto("dhcp_client_interface", " to ") * Cg(v4_address, "dhcp_server_addr")
        * P" port " * Cg(count, "dhcp_server_port") * eos,
    text("dhcp_type", P"DHCPACK") * P" from " * Cg(v4_address, "dhcp_server_addr") * eos,
    P"bound to " * Cg(v4_address, "dhcp_client_addr") * P" -- renewal in "
        * Cg(count, "dhcp_client_renewal_seconds") * P" seconds." * eos)

--[[ dhcpd --]]

local hw_addr = xdigit * xdigit * (P":" * xdigit * xdigit)^0
local client_hw = text("dhcp_client_hw_addr", hw_addr + P"<no identifier>")
local hostname = (P"(" * upto("dhcp_client_hostname", ")") * P" ")^-1
local via_iface = P"via " * text("dhcp_source", (any - P":")^1)
local via_word = P"via " * text("dhcp_source", (any - P" ")^1)
local message = (P": " * rest("dhcp_message"))^-1
local lease = (P" [" * Cg(signed, "dhcp_lease_time") * P"]")^-1
local pool_counts = Cg(signed, "dhcp_lease_count") * P"  free " * Cg(signed, "dhcp_free_leases")
    * P"  backup " * Cg(signed, "dhcp_backup_leases") * P"  lts " * Cg(signed, "dhcp_lts")

programs.dhcpd = choice(
    text("dhcp_type", P"BOOTREQUEST") * P" from " * text("dhcp_client_hw_addr", hw_addr)
        * P" " * via_iface * eos,
    -- Heka compat: Heka's named the host name dhcp_client_addr too, losing the address.
    text("dhcp_type", P"BOOTREPLY") * P" for " * Cg(v4_address, "dhcp_client_addr")
        * P" to " * upto("dhcp_client_hostname", " (") * text("dhcp_client_hw_addr", hw_addr)
        * P") " * via_iface * eos,
    text("dhcp_type", P"DHCPDISCOVER") * P" from " * client_hw * P" " * hostname * via_iface
        * message * eos,
    text("dhcp_type", P"DHCPOFFER" + P"DHCPACK" + P"BOOTREPLY") * P" on "
        * Cg(v4_address, "dhcp_client_addr") * P" to "
        * text("dhcp_client_hw_addr", (any - P" ")^1) * P" " * hostname * via_word * lease
        * message * eos,
    text("dhcp_type", P"DHCPACK") * P" to " * Cg(v4_address, "dhcp_client_addr") * P" ("
        * upto("dhcp_client_hw_addr", ")") * P" " * via_word * message * lease * eos,
    text("dhcp_type", P"DHCPNAK") * P" on " * Cg(v4_address, "dhcp_client_addr") * P" to "
        * text("dhcp_client_hw_addr", (any - P" ")^1) * P" " * via_iface * eos,
    text("dhcp_type", P"DHCPREQUEST") * P" for " * Cg(v4_address, "dhcp_client_addr")
        * (P" (" * upto("dhcp_server_addr", ")"))^-1 * P" from " * client_hw * P" "
        * hostname * via_iface * message * eos,
    text("dhcp_type", P"DHCPINFORM") * P" from " * Cg(v4_address, "dhcp_client_addr") * P" "
        * via_iface * message * eos,
    text("dhcp_pool_result", P"balancing") * P" pool" * upto("dhcp_pool_id", " ")
        * upto("dhcp_network", "  total ") * pool_counts * P"  max-own (+/-)"
        * Cg(signed, "dhcp_hold") * P"  (requesting peer rebalance!)"^-1 * eos,
    text("dhcp_pool_result", P"balanced" + P"IMBALANCED") * P" pool"
        * upto("dhcp_network", "  total ") * pool_counts * P"  max-misbal "
        * Cg(signed, "dhcp_thresh") * eos,
    P"bind update on " * Cg(v4_address, "dhcp_client_addr") * P" from "
        * upto("dhcp_failover_peer", " ") * text("dhcp_bind_update_status", P"rejected")
        * P": " * rest("dhcp_message"),
    P"bind update on " * Cg(v4_address, "dhcp_client_addr") * P" "
        * text("dhcp_bind_update_status", P"got ack") * P" from "
        * upto("dhcp_failover_peer", ": ") * rest("dhcp_message"))

--[[ login and account tools --]]

local tty_from = P" on '" * upto("tty", "'") * (P" from '" * upto("from", "'"))^-1

programs.login = choice(
    P"FAILED LOGIN (" * Cg(count, "failcount") * P")" * tty_from * P" FOR '"
        * upto("user", "', ") * rest("pam_error"),
    P"ROOT LOGIN " * tty_from * eos)

programs.groupadd = Ct(P"new group: name=" * upto("group_name", ", GID=") * Cg(count, "gid")
    * eos)

programs.groupdel = Ct(P"group '" * upto("group_name", "' removed")
    * (P" from " * rest("group_dbname"))^-1)

programs.useradd = choice(
    P"new user: name=" * upto("user_name", ", UID=") * Cg(count, "uid") * P", GID="
        * Cg(count, "gid") * P", home=" * upto("user_home", ", shell=") * rest("user_shell"),
    P"add '" * upto("user_name", P"' to group '" + P"' to shadow group '")
        * upto("group_name", "'") * eos)

--[[ named --]]

local dns_peer = Cg(address, "dns_addr") * P"#" * Cg(count, "dns_port")
local name_type_class = upto("dns_name", "/") * upto("dns_type", "/") * upto("dns_class", "': ")

programs.named = choice(
    text("dns_error", P"lame server") * P" resolving '" * upto("dns_name", "' (in '")
        * upto("dns_domain", "'?): ") * dns_peer * eos,
    -- BIND before 9.9: "error (%s) resolving '%s/%s/%s': %s"
    P"error (" * upto("dns_error", ") resolving '") * name_type_class * dns_peer * eos,
    upto("dns_error", " resolving '") * name_type_class * dns_peer * eos,
    text("dns_error", P"DNS format error") * P" from " * dns_peer * P" resolving "
        * upto("dns_name", "/") * Cg(C((any - (P" for client " + P":"))^0), "dns_type")
        * (P" for client " * Cg(address, "dns_client_addr") * P"#"
           * Cg(count, "dns_client_port"))^-1
        * P": " * rest("dns_message"),
    text("dns_error", P"skipping nameserver") * P" '"
        * upto("dns_nameserver", "' because it is a CNAME, while resolving '")
        * upto("dns_name", "'") * eos,
    P"client " * Cg(address, "dns_client_addr") * P"#" * Cg(count, "dns_client_port")
        * (P"/key " * text("dns_client_signer", (any - S" :")^1))^-1
        * (P" (" * upto("dns_name", ")"))^-1
        * (P": view " * text("dns_view", (any - P": ")^1))^-1
        * P": " * rest("dns_message"),
    P"success resolving '" * upto("dns_name", "/") * upto("dns_type", "' (in '")
        * upto("dns_domain", "'?) after ") * rest("dns_message"),
    P"zone " * upto("dns_domain", "/") * upto("dns_class", "/") * upto("dns_view", ": ")
        * text("dns_message", P"sending notifies") * P" (serial " * Cg(count, "dns_serial")
        * P")" * eos,
    P"clients-per-query decreased to " * Cg(count, "dns_clients_per_query") * eos)

--[[ puppet-agent --]]

local upper, lower = R"AZ", R"az"
local segment = upper * (lower + digit + P"_")^0
local puppet_type = segment * (P"::" * segment)^0
local resource = puppet_type * P"[" * (any - P"]")^1 * P"]"
local resource_path = (P"/" * (resource + puppet_type))^1
local parameter = (lower + digit + P"_")^1
local noop = Cg(Cc(true), "puppet_noop")

local resource_message =
    (text("puppet_msg", P"Would have triggered") * noop + text("puppet_msg", P"Triggered"))
        * P" '" * upto("puppet_callback", "' from ") * Cg(signed, "puppet_events_count")
        * P" events" * eos
    + P"Scheduling " * upto("puppet_callback", " of ")
        * text("puppet_callback_target", resource) * eos
    + P"Unscheduling " * upto("puppet_callback", " on ")
        * text("puppet_callback_target", resource) * eos
    + P"Filebucketed " * upto("puppet_file_path", " to ") * upto("puppet_bucket", " with sum ")
        * Cg(C(any^0), "puppet_file_sum")

local parameter_message =
    P"current_value " * upto("puppet_current_value", ", should be ")
        * upto("puppet_should_value", " (noop)")
        * (P" (previously recorded value was " * rest("puppet_historical_value"))^-1
        * noop * eos
    + text("puppet_ensure_parameter", parameter) * P" changed '"
        * upto("puppet_old_value", "' to '") * upto("puppet_new_value", P"'" * eos)
    + text("puppet_change", P"executed successfully") * eos

programs["puppet-agent"] = choice(
    P"(" * text("puppet_resource_path", resource_path) * P"/"
        * text("puppet_parameter", parameter) * P")"
        * (P" " * parameter_message + any^0),
    P"(" * upto("puppet_resource_path", ") ") * resource_message,
    text("puppet_msg", P"Finished catalog run") * P" in "
        * Cg(decimal, "puppet_benchmark_seconds") * P" seconds" * eos,
    -- Kept as they are: matched, no fields.
    P"Retrieving pluginfacts" * eos + P"Retrieving plugin" * eos + P"Loading facts" * eos
        + P"Caching catalog for " + P"Applying configuration version '"
        + P"Computing checksum on file "
        + P"Run of Puppet configuration client already in progress; skipping (")

--[[ sshd --]]

local ssh_peer = Cg(address, "remote_addr")

programs.sshd = choice(
    text("sshd_authmsg", P"Accepted" + P"Failed" + P"Partial" + P"Postponed") * P" "
        * text("sshd_method", (any - S"/ ")^1)
        * (P"/" * text("sshd_submethod", (any - S"/ ")^1))^-1
        * P" for " * P"invalid user "^-1 * upto("remote_user", " from ") * ssh_peer
        * P" port " * Cg(count, "remote_port") * P" " * (P"ssh2" + P"ssh1")
        * (P": " * rest("sshd_info"))^-1,
    P"Received disconnect from " * ssh_peer * P": "
        * (Cg(count, "disconnect_reason") * P": ")^-1 * rest("disconnect_msg"),
    P"reverse mapping checking getaddrinfo for " * upto("remote_host", "[") * ssh_peer
        * P"] failed - POSSIBLE BREAK-IN ATTEMPT!" * eos,
    P"subsystem request for " * upto("sshd_subsystem", P" by user " + eos)
        * text("remote_user", (any - P" ")^0) * eos,
    P"Connection closed by " * ssh_peer * P" [preauth]" * eos,
    P"Invalid user " * upto("remote_user", " from ") * ssh_peer * eos,
    P"input_userauth_request: invalid user " * upto("remote_user", " [preauth]") * eos,
    P"Exiting on signal " * text("signal", digit^1) * eos,
    P"Received signal " * text("signal", digit^1) * P"; terminating." * eos,
    P"Server listening on " * text("listen_address", (any - P" ")^1) * P" port "
        * text("listen_port", digit^1) * P"." * eos,
    P"Did not receive identification string from " * ssh_peer * eos,
    text("sshd_errorlevel", P"error" + P"fatal") * P": " * rest("sshd_error"))

--[[ su and sudo --]]

programs.su = choice(
    text("su_status", P"Successful" + P"FAILED") * P" su for " * upto("su_name", " by ")
        * rest("su_oldname"),
    P"pam_authenticate: " * rest("pam_error"),
    S"+-" * P" ")

-- "usrnagios : TTY=unknown ; PWD=/home/usrnagios ; USER=root ; COMMAND=/usr/bin/ctdb -Y status"
local function sudo_item(name)
    return (P(name .. "=") * upto("sudo_" .. string.lower(name), " ; "))^-1
end
programs.sudo = Ct(upto("sudo_message", " : ") * sudo_item("TTY") * sudo_item("PWD")
    * sudo_item("USER") * sudo_item("GROUP") * sudo_item("TSID") * sudo_item("ENV")
    * P"COMMAND=" * rest("sudo_command"))

--[[ systemd-logind --]]

programs["systemd-logind"] = choice(
    P"New session " * Cg(signed, "session_id") * P" of user " * upto("user_id", P"." * eos)
        * Cg(Cc"SESSION_START", "sd_message"),
    P"Removed session " * Cg(signed, "session_id") * P"."
        * Cg(Cc"SESSION_STOP", "sd_message") * eos)

--[[ PAM, in any program --]]

local pam_header = upto("pam_module", "(") * upto("pam_service", ":") * upto("pam_type", "): ")

wildcards.PAM = choice(
    pam_header * text("pam_action", P"session opened") * P" for user "
        * upto("user_name", " by ") * upto("login_name", "(uid=") * Cg(count, "uid") * P")",
    pam_header * text("pam_action", P"session closed") * P" for user " * rest("user_name"),
    pam_header * text("pam_action", P"authentication failure") * P"; logname="
        * upto("logname", " uid=") * Cg(count, "uid") * P" euid=" * Cg(count, "euid")
        * P" tty=" * upto("tty", " ruser=") * upto("ruser", " rhost=")
        * Cg(C((any - P"  user=")^0), "rhost") * P" " * (P" user=" * rest("user"))^-1,
    pam_header * P"check pass; user " * (P"(" * upto("user_name", ") "))^-1 * P"unknown")

function M.get_prog_grammar(prog)
    return programs[prog]
end

function M.get_wildcard_grammar(name)
    if type(name) == "table" then
        local list = {}
        for _, n in ipairs(name) do list[#list + 1] = wildcards[n] end
        return list
    elseif type(name) == "string" then
        return wildcards[name]
    elseif name == nil then
        return wildcards
    end
end

return M
