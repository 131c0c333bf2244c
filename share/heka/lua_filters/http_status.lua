-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
http_status: graphs HTTP status classes from web server access log messages
(e.g. the nginx_access and apache_access decoders' numeric Fields[status]).

Output (every ticker_interval): inject_payload("cbuf", "HTTP Status", ...) of a
circular buffer with the columns HTTP_100, HTTP_200, HTTP_300, HTTP_400,
HTTP_500 and HTTP_UNKNOWN (count, sum): how many responses of each class
arrived in each row. With anomaly_config, annotations precede the buffer and
findings are sent as alerts (alert module, throttled to one an hour).

Config:
- sec_per_row (uint, default 60): seconds per row.
- rows (uint, default 1440): rows in the sliding window.
- status_field (string, default "status"): the field holding the status code.
- anomaly_config (string, optional): see the anomaly module.
- alert_throttle (uint, default 3600): seconds between two alerts.
- preservation_version (uint, default 0): raise it when rows or sec_per_row
  change with preserve_data = true.

    [HttpStatus]
    type = "SandboxFilter"
    filename = "lua_filters/http_status.lua"
    ticker_interval = 60
    preserve_data = true
    message_matcher = "Type == 'nginx.access'"

    [HttpStatus.config]
    anomaly_config = 'roc("HTTP Status", 2, 15, 0, 1.5, true, false)'

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

_PRESERVATION_VERSION = (read_config("preservation_version") or 0) + 1

require "circular_buffer"
require "math"
require "string"
local alert = require "alert"
local annotation = require "annotation"
local anomaly = require "anomaly"

local title = "HTTP Status"
local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60
local status_field = "Fields[" .. (read_config("status_field") or "status") .. "]"
local anomaly_config = anomaly.parse_config(read_config("anomaly_config"))
alert.set_throttle((read_config("alert_throttle") or 3600) * 1e9)
annotation.set_prune(title, rows * sec_per_row * 1e9)

status = circular_buffer.new(rows, 6, sec_per_row)
for class = 1, 5 do
    status:set_header(class, string.format("HTTP_%d00", class))
end
local UNKNOWN = status:set_header(6, "HTTP_UNKNOWN")

function process_message()
    local code = read_message(status_field)
    if type(code) ~= "number" then return -1 end
    local class = math.floor(code / 100)
    if class < 1 or class > 5 then class = UNKNOWN end
    status:add(read_message("Timestamp"), class, 1)
    return 0
end

function timer_event(ns)
    if not anomaly_config then
        inject_payload("cbuf", title, status)
        return
    end
    if not alert.throttled(ns) then
        local msg, annotations = anomaly.detect(ns, title, status, anomaly_config)
        if msg then
            annotation.concat(title, annotations)
            alert.send(ns, msg)
        end
    end
    inject_payload("cbuf", title, annotation.prune(title, ns), status)
end
