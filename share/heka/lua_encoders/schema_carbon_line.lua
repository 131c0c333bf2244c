-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Turns a message's numeric dynamic fields into Carbon (Graphite) plaintext
lines "<name> <value> <unix seconds>", each ending in "\n". Field names have
every character other than a letter or digit replaced by "_"; values that
are not plain digits and dots (strings, booleans, negative numbers) are left
out.

Config:

- name_prefix (string, optional, default nil)
    Put before each metric name; %{...} is interpolated (msg_interpolate).
- name_prefix_delimiter (string, optional, default ".")
    Between name_prefix and the field name.
- skip_fields (string, optional, default nil)
    Space-separated dynamic fields not written ("**all_base**" allowed).
- source_value_field (string, optional, default nil)
    Write only this field, named name_prefix.

Example:

    [CarbonLineEncoder]
    type = "SandboxEncoder"
    filename = "lua_encoders/schema_carbon_line.lua"
        [CarbonLineEncoder.config]
        name_prefix = "%{Environment}.%{Hostname}.%{Type}"
        skip_fields = "**all_base** FilePath NumProcesses Environment TickerInterval"

    [CarbonOutput]
    type = "TcpOutput"
    message_matcher = "Type =~ /stats.*/"
    encoder = "CarbonLineEncoder"
    address = "127.0.0.1:2003"

Output:

    dev.myhost.stats.loadavg.1MinAvg 0.12 1434932023
    dev.myhost.stats.loadavg.15MinAvg 0.18 1434932023

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "table"
local ts_line_protocol = require "ts_line_protocol"

local config = ts_line_protocol.set_config({
    carbon_format = true,
    timestamp_precision = "s",
    name_prefix = read_config("name_prefix"),
    name_prefix_delimiter = read_config("name_prefix_delimiter") or ".",
    skip_fields_str = read_config("skip_fields"),
    source_value_field = read_config("source_value_field"),
})

function process_message()
    local lines = ts_line_protocol.carbon_line_msg(config)
    inject_payload("txt", "carbon_line", table.concat(lines, "\n") .. "\n")
    return 0
end
