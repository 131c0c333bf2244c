-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Collects the InfluxDB line protocol of the messages it receives (as
schema_influx_line.lua writes it) and injects them in batches, on each
ticker and every flush_count messages: a message with payload_type "txt" and
payload_name "influx_line", whose Payload is ready for InfluxDB's /write.

Config: the options of schema_influx_line.lua (decimal_precision,
name_prefix, name_prefix_delimiter, skip_fields, source_value_field,
tag_fields, timestamp_precision, value_field_key) and

- flush_count (number, optional, default 0)
    Inject the batch once it holds this many messages, before the ticker;
    0 or less: only on the ticker.

A batch is also injected early when the next message's lines would not fit
in the sandbox's output_limit.

Example:

    [InfluxdbLineFilter]
    type = "SandboxFilter"
    message_matcher = "Type =~ /stats.*/"
    filename = "lua_filters/influx_batch.lua"
        [InfluxdbLineFilter.config]
        skip_fields = "**all_base** FilePath NumProcesses Environment TickerInterval"
        tag_fields = "Hostname Environment"
        timestamp_precision= "s"
        flush_count = 10000

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]=]

require "table"
local ts_line_protocol = require "ts_line_protocol"

local flush_count = tonumber(read_config("flush_count")) or 0
local count = 0
local pending = false

local config = ts_line_protocol.set_config({
    decimal_precision = read_config("decimal_precision") or "6",
    name_prefix = read_config("name_prefix"),
    name_prefix_delimiter = read_config("name_prefix_delimiter"),
    skip_fields_str = read_config("skip_fields"),
    source_value_field = read_config("source_value_field"),
    tag_fields_str = read_config("tag_fields") or "**all_base**",
    timestamp_precision = read_config("timestamp_precision") or "ms",
    value_field_key = read_config("value_field_key") or "value",
})

local function flush()
    if pending then
        inject_payload("txt", "influx_line")
        pending = false
    end
    count = 0
end

function process_message()
    local text = table.concat(ts_line_protocol.influxdb_line_msg(config), "\n") .. "\n"
    local injected = false
    if not pcall(add_to_payload, text) then
        -- The batch is full (output_limit): send it and start the next one.
        injected = pending
        flush()
        if not pcall(add_to_payload, text) then
            return -1, "the message's lines exceed output_limit"
        end
    end
    pending = true
    if flush_count > 0 then
        count = count + 1
        -- One injection per message: a batch sent early waits for the next one.
        if count >= flush_count and not injected then flush() end
    end
    return 0
end

function timer_event(ns)
    flush()
end
