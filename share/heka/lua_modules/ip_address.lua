-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
ip_address: LPeg grammars for IP addresses (no captures; wrap them in lpeg.C).

v4 -- a dotted quad, each part 0 to 255 ("10.0.0.1")
v6 -- an IPv6 address in any RFC 4291 text form, including "::" compression
      and a trailing dotted quad ("::ffff:192.0.2.1")

Part of "Heka, rebuilt in Rust"; same names as Heka 0.10's lua_sandbox module.
--]]

local lpeg = require "lpeg"
local P, R = lpeg.P, lpeg.R

local M = {}

local digit = R"09"
-- 0-255, longest alternatives first so that "255" is not read as "25".
local octet = P"25" * R"05" + P"2" * R"04" * digit + P"1" * digit * digit
    + R"19" * digit + digit
M.v4 = octet * P"." * octet * P"." * octet * P"." * octet

local hex = R("09", "af", "AF")
local h16 = hex * hex^-3 -- 1 to 4 hex digits
local ls32 = M.v4 + h16 * P":" * h16
local h16c = h16 * P":"

-- n groups "h16:" in a row.
local function groups(n)
    local p = P(true)
    for _ = 1, n do p = p * h16c end
    return p
end

-- The groups before "::": 1 to n+1 h16 separated by ":". Greedy repetition
-- would eat the first ":" of "::", so the longest run is tried first and the
-- shorter ones after it.
local function head(n)
    local alts = h16
    for k = 1, n do
        alts = groups(k) * h16 * #P"::" + alts
    end
    return alts
end

M.v6 = groups(6) * ls32
    + P"::" * groups(5) * ls32
    + head(0)^-1 * P"::" * groups(4) * ls32
    + head(1)^-1 * P"::" * groups(3) * ls32
    + head(2)^-1 * P"::" * groups(2) * ls32
    + head(3)^-1 * P"::" * groups(1) * ls32
    + head(4)^-1 * P"::" * ls32
    + head(5)^-1 * P"::" * h16
    + head(6)^-1 * P"::"

return M
