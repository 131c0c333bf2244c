-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
heartbeat: watches that every host (Hostname) keeps sending messages.

Each message records its host's last heartbeat (Timestamp, in ms). Every
ticker_interval a host silent for more than heartbeat_timeout seconds is
"down" and gets the alert line "Missing Heartbeat - <host>" (at most once per
alert_throttle seconds per host; the lines of one tick go out as one alert),
the others are "up". Then inject_payload("json", "heartbeat", ...) sends
{"<host>":{"last_heartbeat":<ms>,"status":"up|down","last_alert":<ms>},...}.

Config:
- heartbeat_timeout (uint, default 30): seconds.
- alert_throttle (uint, default 300): seconds.

    [heartbeat]
    type = "SandboxFilter"
    filename = "lua_filters/heartbeat.lua"
    ticker_interval = 30
    preserve_data = true
    message_matcher = "Type == 'heartbeat'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

require "cjson"
require "math"
require "string"
local alert = require "alert"
alert.set_throttle(0) -- each host has its own throttle below

local timeout_ms = (read_config("heartbeat_timeout") or 30) * 1000
local throttle_ms = (read_config("alert_throttle") or 300) * 1000

hosts = {}

function process_message()
    local ms = math.floor(read_message("Timestamp") / 1e6)
    local name = read_message("Hostname")
    local host = hosts[name]
    if host then
        host.last_heartbeat = ms
    else
        hosts[name] = {last_heartbeat = ms, last_alert = 0, status = "up"}
    end
    return 0
end

function timer_event(ns)
    local now = math.floor(ns / 1e6)
    for name, host in pairs(hosts) do
        if now - host.last_heartbeat > timeout_ms then
            host.status = "down"
            if now - host.last_alert > throttle_ms then
                alert.queue(ns, string.format("Missing Heartbeat - %s\n", name))
                host.last_alert = now
            end
        else
            host.status = "up"
        end
    end
    alert.send_queue(ns)
    inject_payload("json", "heartbeat", cjson.encode(hosts))
end
