-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
cbufd: reads the text a circular buffer's format("cbufd") writes.

grammar -- matches a whole cbufd payload and captures
           {header = "<the JSON header line>",
            {time = <row time in ns>, v1, v2, ...}, ...}
           one table per row; "nan" cells become NaN.

Part of "Heka, rebuilt in Rust"; same names and behaviour as lua_sandbox's
module that Heka 0.10 shipped.
--]]

local lpeg = require "lpeg"
local tonumber = tonumber

local M = {}

local P, R, C, Cg, Ct = lpeg.P, lpeg.R, lpeg.C, lpeg.Cg, lpeg.Ct

local digits = R"09"^1
local newline = P"\n"

-- Row times are whole seconds; the table holds nanoseconds.
local function seconds_to_ns(s) return tonumber(s) * 1e9 end
local function nan() return 0 / 0 end

local value = C(P"-"^-1 * digits * (P"." * digits)^-1) / tonumber
    + P"nan" / nan
local row = Ct(Cg(digits / seconds_to_ns, "time") * (P"\t" * value)^1 * newline)
local header = Cg(C((1 - newline)^1), "header") * newline

M.grammar = Ct(header * row^1) * -1

return M
