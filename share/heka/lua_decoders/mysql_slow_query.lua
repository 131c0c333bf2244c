-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes one record of a MySQL slow query log (the Payload): the "# User@Host:"
line up to the end of the SQL statement. Use mariadb_slow_query.lua for
MariaDB's variant of the log.

Config:

- truncate_sql (int, optional, default nil)
    Cuts the SQL Payload to this many bytes (not UTF-8 aware) and appends
    "..."; a negative value drops that many bytes, less one, from the end.

Message: Type "mysql.slow-query", Hostname from the User@Host line, Timestamp from
"SET timestamp=", Payload the SQL statement, fields Query_time and Lock_time
(seconds, representation "s"), Rows_sent, Rows_examined (see the mysql module).

Example (a record starts at each "# User@Host:" line):

    [SlowQueryLog]
    type = "LogstreamerInput"
    log_directory = "/var/log/mysql"
    file_match = 'mysql-slow\.log'
    splitter = "SlowQuerySplitter"
    decoder = "SlowQueryDecoder"

    [SlowQuerySplitter]
    type = "RegexSplitter"
    delimiter = '\n(# User@Host:)'
    delimiter_eol = false

    [SlowQueryDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/mysql_slow_query.lua"

        [SlowQueryDecoder.config]
        truncate_sql = 64

A record that does not match is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local string = require "string"
local mysql = require "mysql"

local truncate_sql = read_config("truncate_sql")
if truncate_sql ~= nil and type(truncate_sql) ~= "number" then
    error("truncate_sql: a number of bytes is required", 0)
end

function process_message()
    local record = read_message("Payload")
    local msg = mysql.slow_query_grammar:match(record or "")
    if not msg then return -1, "not a MySQL slow query log record" end
    msg.Type = "mysql.slow-query"
    if truncate_sql and #msg.Payload > truncate_sql then
        msg.Payload = string.sub(msg.Payload, 1, truncate_sql) .. "..."
    end
    inject_message(msg)
    return 0
end
