-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Puts an ElasticSearch bulk API index line before the message Payload (a JSON
document): the output is the action line, a newline, the Payload and a
newline when the Payload has none at its end.

Config:

- index (string, optional, default "heka-%{%Y.%m.%d}")
    The `_index`. Supports msg_interpolate's %{...} (header and field names,
    strftime formats).
- type_name (string, optional, default "message")
    The `_type`, interpolated likewise.
- id (string, optional)
    The `_id`, interpolated likewise; left out when unset.
- es_index_from_timestamp (boolean, optional, default false)
    Time formats use the message Timestamp rather than the current time.

Example:

    [es_payload]
    type = "SandboxEncoder"
    filename = "lua_encoders/es_payload.lua"
        [es_payload.config]
        es_index_from_timestamp = true
        index = "%{Logger}-%{%Y.%m.%d}"
        type_name = "%{Type}-%{Hostname}"

Output:

    {"index":{"_index":"mylogger-2014.06.05","_type":"mytype-host.domain.com"}}
    {"json":"data","extracted":"from","message":"payload"}

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "string"
local elasticsearch = require "elasticsearch"

local from_timestamp = read_config("es_index_from_timestamp")
local index = read_config("index") or "heka-%{%Y.%m.%d}"
local type_name = read_config("type_name") or "message"
local id = read_config("id")

function process_message()
    local ns
    if from_timestamp then ns = read_message("Timestamp") end
    local payload = read_message("Payload")
    add_to_payload(elasticsearch.bulkapi_index_json(index, type_name, id, ns), "\n", payload)
    if string.sub(payload, -1) ~= "\n" then add_to_payload("\n") end
    inject_payload()
    return 0
end
