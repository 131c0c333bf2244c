-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Turns a message's dynamic fields into InfluxDB line protocol (InfluxDB 0.9
and later): one line per field value, the base fields as tags (for InfluxDB
0.8 use schema_influx.lua). The output is the lines, each ending in "\n".

Config:

- decimal_precision (string, optional, default "6")
    Digits after the point: numbers are always written as floats
    (%.<decimal_precision>f), as InfluxDB refuses a field that changes type.
- name_prefix (string, optional, default nil)
    Put before each measurement name; %{...} is interpolated (msg_interpolate).
- name_prefix_delimiter (string, optional, default nil)
    Between name_prefix and the field name.
- skip_fields (string, optional, default nil)
    Space-separated dynamic fields not written ("**all_base**" allowed).
- source_value_field (string, optional, default nil)
    Write only this field, named name_prefix.
- tag_fields (string, optional, default "**all_base**")
    Space-separated fields written as tags: "**all_base**" = the base fields
    Hostname, Logger, Severity and Type; "**all**" = those and every dynamic
    field; else the fields named.
- timestamp_precision (string, optional, default "ms")
    "s", "m", "h" or "ms": the unit of the timestamps written.
- value_field_key (string, optional, default "value")
    The field key of each line.

Example:

    [InfluxdbLineEncoder]
    type = "SandboxEncoder"
    filename = "lua_encoders/schema_influx_line.lua"
        [InfluxdbLineEncoder.config]
        skip_fields = "**all_base** FilePath NumProcesses Environment TickerInterval"
        tag_fields = "Hostname Environment"
        timestamp_precision= "s"

Output:

    5MinAvg,Hostname=myhost,Environment=dev value=0.110000 1434932024
    1MinAvg,Hostname=myhost,Environment=dev value=0.110000 1434932024

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "table"
local ts_line_protocol = require "ts_line_protocol"

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

function process_message()
    local lines = ts_line_protocol.influxdb_line_msg(config)
    inject_payload("txt", "influx_line", table.concat(lines, "\n") .. "\n")
    return 0
end
