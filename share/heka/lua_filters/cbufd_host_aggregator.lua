-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
cbufd_host_aggregator: collects the circular buffer deltas ("cbufd" payloads)
that several hosts send and graphs each source column per host: for every
payload name and source column one circular buffer with a column per host
(Hostname), named after the host, with the source column's unit and
aggregation ("sum" adds, "min"/"max" take the latest value, "none" and "nan"
cells are skipped).

A new host takes the next free column. Once max_hosts columns are taken, a new
host replaces one that sent nothing for host_expiration seconds (by message
Timestamp), keeping its data; if there is none the filter stops with the error
"The number of hosts exceeds the 'max_hosts' configuration".

Output (every ticker_interval), for each payload name and source column:
inject_payload("cbuf", "<payload name> (<column name>)",
'{"options":{"stackedGraph":true,"fillGraph":true}}\n', <the buffer>).

Config:
- max_hosts (uint, required): the host columns of each graph.
- rows (uint, required): the rows kept of the source buffers.
- host_expiration (uint, default 120): seconds.
- preservation_version (uint, default 0)

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = read_config("preservation_version") or 0

local cbufd = require "cbufd"
require "circular_buffer"
require "cjson"
require "string"

local max_hosts = read_config("max_hosts") or error("max_hosts configuration must be specified")
local rows = read_config("rows") or error("rows configuration must be specified")
local host_expiration = (read_config("host_expiration") or 120) * 1e9

local OPTIONS = '{"options":{"stackedGraph":true,"fillGraph":true}}\n'

hosts = {}      -- hostname -> {index = <column>, last_update = <ns>}
hosts_size = 0
payloads = {}   -- payload name -> {header = <decoded header>, cbufs = {<per source column>}}

local function label(payload, col, host, name)
    local info = payload.header.column_info[col]
    payload.cbufs[col]:set_header(host.index, name, info.unit, info.aggregation)
end

local function create(name, data)
    local ok, h = pcall(cjson.decode, data.header)
    if not ok or type(h) ~= "table" or type(h.column_info) ~= "table" then return nil end
    local payload = {header = h, cbufs = {}}
    for col = 1, #h.column_info do
        local okc, cb = pcall(circular_buffer.new, rows, max_hosts, h.seconds_per_row)
        if not okc then return nil end
        payload.cbufs[col] = cb
        for host_name, host in pairs(hosts) do label(payload, col, host, host_name) end
    end
    payloads[name] = payload
    return payload
end

local function find_host(name, ts)
    local host = hosts[name]
    if host then return host end
    if hosts_size < max_hosts then
        hosts_size = hosts_size + 1
        host = {index = hosts_size, last_update = ts}
    else
        for old_name, old in pairs(hosts) do
            if ts - old.last_update >= host_expiration then
                hosts[old_name] = nil
                old.last_update = ts
                host = old
                break
            end
        end
        if not host then
            error("The number of hosts exceeds the 'max_hosts' configuration")
        end
    end
    hosts[name] = host
    for _, payload in pairs(payloads) do
        for col = 1, #payload.cbufs do label(payload, col, host, name) end
    end
    return host
end

function process_message()
    local data = cbufd.grammar:match(read_message("Payload") or "")
    if not data then return -1 end
    local ts = read_message("Timestamp")
    local host_name = read_message("Hostname")
    local name = read_message("Fields[payload_name]") or ""

    local host = find_host(host_name, ts)
    local payload = payloads[name] or create(name, data)
    if not payload then return -1 end
    if ts > host.last_update then host.last_update = ts end

    local info = payload.header.column_info
    for _, row in ipairs(data) do
        for col, v in ipairs(row) do
            local column = info[col]
            if column and v == v then
                if column.aggregation == "sum" then
                    payload.cbufs[col]:add(row.time, host.index, v)
                elseif column.aggregation == "min" or column.aggregation == "max" then
                    payload.cbufs[col]:set(row.time, host.index, v)
                end
            end
        end
    end
    return 0
end

function timer_event(ns)
    for name, payload in pairs(payloads) do
        for col, cb in ipairs(payload.cbufs) do
            inject_payload("cbuf", string.format("%s (%s)", name, payload.header.column_info[col].name),
                OPTIONS, cb)
        end
    end
end
