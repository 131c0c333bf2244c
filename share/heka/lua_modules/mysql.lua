-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
mysql: LPeg grammars for one record of a MySQL or MariaDB slow query log.

slow_query_grammar                 -- MySQL record
short_slow_query_grammar           -- MySQL record without the "# User@Host:" line
mariadb_slow_query_grammar         -- MariaDB record
mariadb_short_slow_query_grammar   -- MariaDB record without the "# User@Host:" line

Each captures a table ready for inject_message:
    Hostname  -- the address in "# User@Host: user[user] @ host [address]"
                 (the host name when the address is empty)
    Timestamp -- from "SET timestamp=N;", in nanoseconds (a numeric string)
    Payload   -- the SQL statement, up to and including the ";" ending a line
    Fields    -- Query_time, Lock_time ({value = seconds, representation = "s"}),
                 Rows_sent, Rows_examined (numbers); MariaDB adds Thread_id
                 (number), Schema, QC_hit ("Yes"/"No"), and with
                 log_slow_verbosity=query_plan Full_scan, Full_join, Tmp_table,
                 Tmp_table_on_disk, Filesort, Filesort_on_disk ("Yes"/"No"),
                 Merge_passes (number), Priority_queue ("Yes"/"No").
                 "# Rows_affected: N  Bytes_sent: N" (MariaDB 10.x) gives
                 Rows_affected and Bytes_sent (numbers).
"# Time:" lines before the record, "use db;" lines, the "# administrator
command:" line and other "# " comment lines before "SET" are skipped.

Part of "Heka, rebuilt in Rust"; same names and captures as Heka 0.10's
lua_sandbox module.
--]]

local lpeg = require "lpeg"
local tonumber = tonumber

local P, R, S, C, Cg, Ct, Cc = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cc
local digit = R"09"
local nl = P"\n"
local rest_of_line = (1 - nl)^0 * nl
local gap = S" \t"^1

local M = {}

local number = digit^1 / tonumber
local seconds = Ct(Cg(digit^1 * P"." * digit^1 / tonumber, "value")
    * Cg(Cc"s", "representation"))
local yes_no = C(P"Yes" + P"No")

-- "Name: value" with its capture named after the label.
local function labelled(name, value)
    return P(name .. ": ") * Cg(value, name)
end

local time_line = P"# Time: " * rest_of_line

-- The address in brackets, or the host name before it when that is empty.
local function host_of(name, address)
    if address ~= "" then return address end
    if name ~= "" then return name end
    return nil
end
local user_host = P"# User@Host: " * (1 - S"[\n")^0 * P"[" * (1 - S"]\n")^0 * P"]"
    * gap * P"@" * gap^-1
    * Cg(C((1 - S" [\n")^0) * gap^-1 * P"[" * C((1 - S"]\n")^0) * P"]" / host_of, "Hostname")
    * (gap * P"Id:" * gap * digit^1)^-1 * nl

local query_line = P"# " * labelled("Query_time", seconds)
    * gap * labelled("Lock_time", seconds)
    * gap * labelled("Rows_sent", number)
    * gap * labelled("Rows_examined", number) * S" \t"^0 * nl

local rows_affected = P"# " * labelled("Rows_affected", number)
    * gap * labelled("Bytes_sent", number) * S" \t"^0 * nl

local thread_line = P"# " * labelled("Thread_id", number)
    * gap * P"Schema:" * P" "^-1 * Cg(C((1 - S" \n")^0), "Schema")
    * gap * labelled("QC_hit", yes_no) * S" \t"^0 * nl

local query_plan = P"# " * labelled("Full_scan", yes_no)
    * gap * labelled("Full_join", yes_no)
    * gap * labelled("Tmp_table", yes_no)
    * gap * labelled("Tmp_table_on_disk", yes_no) * S" \t"^0 * nl
    * P"# " * labelled("Filesort", yes_no)
    * gap * labelled("Filesort_on_disk", yes_no)
    * gap * labelled("Merge_passes", number)
    * (gap * labelled("Priority_queue", yes_no))^-1 * S" \t"^0 * nl

-- Other statistics lines MariaDB may write (InnoDB pages, explain output).
local other_comment = P"#" - P"# administrator command:" - P"# User@Host:"
local skipped_comments = (other_comment * rest_of_line)^0

local use_db = P"use " * rest_of_line
local set_line = P"SET " * (P"last_insert_id=" * digit^1 * P",")^-1
    * (P"insert_id=" * digit^1 * P",")^-1
    * P"timestamp=" * Cg(C(digit^1) / function(s) return s .. "000000000" end, "Timestamp")
    * P";" * nl
local admin = P"# administrator command: " * rest_of_line
local statement_end = P";" * (nl + -1)
local sql = Cg(C((1 - statement_end)^0 * statement_end), "Payload")

local function record(head, stats)
    return Ct(head * Cg(Ct(stats), "Fields") * skipped_comments * use_db^0 * set_line
        * admin^-1 * sql)
end

local mysql_stats = query_line * rows_affected^-1
local mariadb_stats = thread_line * query_line * rows_affected^-1 * query_plan^-1

M.slow_query_grammar = record(time_line^0 * user_host, mysql_stats)
M.short_slow_query_grammar = record(P(true), mysql_stats)
M.mariadb_slow_query_grammar = record(time_line^0 * user_host, mariadb_stats)
M.mariadb_short_slow_query_grammar = record(P(true), mariadb_stats)

return M
