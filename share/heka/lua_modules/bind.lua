-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
bind: LPeg grammars for the query log of ISC BIND's named, written with
print-time, print-severity and print-category set to yes:

27-May-2015 21:06:49.246 queries: info: client 10.0.1.70#41242 (webserver.company.com): query: webserver.company.com IN A +E (10.0.1.71)
03-Dec-2026 18:27:52.097 queries: info: client @0x7f3887a6d098 127.0.0.1#35196 (www.example.test): query: www.example.test IN A +E(0)K (127.0.0.1)

query_log_grammar -- a sequence of named groups (wrap it in lpeg.Ct):
    Timestamp           -- the log time in nanoseconds (milliseconds dropped)
    ClientIP            -- {value = address, representation = "ipv4"/"ipv6"}
    ClientEphemeralPort -- the client's port (string)
    FullQuery           -- the name queried
    QueryName           -- its first label
    QueryDomain         -- the labels after the first (absent for one label)
    RecordClass         -- IN, CH or HS
    RecordType          -- A, AAAA, MX, ANY, TYPE65, ...
    QueryFlags          -- array of what the flags say ("recursion requested", ...)
    ServerRespondingIP  -- the address that received the query, as ClientIP
The parts are exported under the same names in lower case where they are
useful alone: dns_record_type, dns_record_class, query_flags.

Part of "Heka, rebuilt in Rust"; same names as Heka 0.10's bind module, which
also reads the query logs of BIND 9.10 and later (client object "@0x...",
"E(0)", cookie flags K and V, IPv6 addresses, one-label names).
--]]

local lpeg = require "lpeg"
local dt = require "date_time"
local ip = require "ip_address"

local P, R, S, C, Cg, Ct, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cc
local digit = R"09"
local xdigit = R("09", "af", "AF")
local sp = P" "

local M = {}

local timestamp = Cg(dt.build_strftime_grammar("%d-%b-%Y %H:%M:%S") / dt.time_to_ns, "Timestamp")
    * P"." * digit * digit * digit

-- An address with its representation.
local address = Ct(Cg(C(ip.v4), "value") * Cg(Cc"ipv4", "representation"))
    + Ct(Cg(C(ip.v6), "value") * Cg(Cc"ipv6", "representation"))

local client = P"client" * sp * (P"@0x" * xdigit^1 * sp)^-1
    * Cg(address, "ClientIP") * P"#" * Cg(C(digit^-5), "ClientEphemeralPort")

local label = (R("az", "AZ", "09") + S"-_")^1
local name = label * (P"." * label)^0
local enclosed_query = P"(" * Cg(C(name), "FullQuery") * P"):"
local view = (P"view" * sp * (1 - S": ")^1 * P":" * sp)^-1

local query = Cg(C(label), "QueryName") * (P"." * Cg(C(name), "QueryDomain"))^-1

M.dns_record_class = Cg(C(P"IN" + P"CH" + P"HS"), "RecordClass")

-- Every type BIND names (A, AAAA, AXFR, DLV, ...), or TYPE<n> for the others.
M.dns_record_type = Cg(C(R("AZ", "09")^1 + P"*"), "RecordType")

local flag_meaning = {
    ["+"] = "recursion requested",
    ["-"] = "recursion not requested",
    E = "EDNS used",
    S = "query signed",
    D = "DNSSEC data wanted",
    C = "no DNSSEC validation check",
    T = "TCP used",
    K = "cookie without valid server cookie",
    V = "valid server cookie",
}
local flag = P"E" * (P"(" * digit^1 * P")")^-1 / flag_meaning.E
    + C(S"+-SDCTKV") / flag_meaning
M.query_flags = Cg(Ct(flag^1), "QueryFlags")

local server_ip = P"(" * Cg(address, "ServerRespondingIP") * P")"

M.query_log_grammar = timestamp * sp * P"queries:" * sp * P"info:" * sp * client
    * sp * enclosed_query * sp * view * P"query:" * sp * query
    * sp * M.dns_record_class * sp * M.dns_record_type * sp * M.query_flags
    * sp * server_ip

return M
