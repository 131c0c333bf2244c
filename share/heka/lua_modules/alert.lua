-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
alert: sends alerts as `inject_payload("alert", "", text)` messages, at most one
per throttle period.

queue(ns, msg)       -- keeps msg for send_queue; false when empty or throttled
send(ns, msg)        -- sends msg now; false when empty or throttled
send_queue(ns)       -- sends everything queued as one alert, lines joined by "\n"
set_throttle(ns)     -- the least time between two alerts (default one hour)
throttled(ns)        -- true when an alert at ns would be held back

ns is the current time in nanoseconds; ns == 0 is never throttled. The time of
the last alert sent lives in the global _LAST_ALERT so that preserve_data keeps
the throttling across restarts.

Part of "Heka, rebuilt in Rust"; same names and behaviour as Heka 0.10's module.
--]]

require "table"

_LAST_ALERT = 0

local M = {}

local throttle_ns = 3600 * 1e9
local pending = nil

function M.throttled(ns)
    if ns == 0 then return false end
    return ns < _LAST_ALERT or ns - _LAST_ALERT <= throttle_ns
end

function M.set_throttle(ns_duration)
    throttle_ns = ns_duration
end

function M.send(ns, msg)
    if msg == nil or msg == "" or M.throttled(ns) then return false end
    inject_payload("alert", "", msg)
    if ns > _LAST_ALERT then _LAST_ALERT = ns end
    return true
end

function M.queue(ns, msg)
    if msg == nil or msg == "" or M.throttled(ns) then return false end
    pending = pending or {}
    pending[#pending + 1] = msg
    return true
end

function M.send_queue(ns)
    if not pending then return false end
    local text = table.concat(pending, "\n")
    pending = nil
    return M.send(ns, text)
end

return M
