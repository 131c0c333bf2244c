-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
heka_process_message_failures: watches the ProcessMessageFailures counter of
every plugin in hekad's heka.all-report messages (JSON payload: sections
inputs, decoders, filters, encoders and outputs, each a list of
{"Name": ..., "ProcessMessageFailures": {"value": n, ...}, ...}).

Each plugin's counter goes into its own circular buffer (60 rows of 60 s, one
column "Failures", count, max; zero is left empty). Every ticker_interval the
anomaly specs run on each plugin's buffer, the spec named "DEFAULT" for
plugins without their own; a finding alerts at once (one alert per plugin per
hour, the lines of one tick sent together). Plugins missing from the latest
report are forgotten. An entry with the counter but no Name fails with -1
("missing plugin Name"). No graph is sent.

Config:
- anomaly_config (string, default
  'mww_nonparametric("DEFAULT", 1, 5, 10, 0.7)'): see the anomaly module.

    [HekaProcessMessageFailures]
    type = "SandboxFilter"
    filename = "lua_filters/heka_process_message_failures.lua"
    ticker_interval = 60
    preserve_data = false
    message_matcher = "Type == 'heka.all-report'"

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

require "circular_buffer"
require "cjson"
local alert = require "alert"
local anomaly = require "anomaly"

local SECTIONS = {"inputs", "decoders", "filters", "encoders", "outputs"}
local HOUR_NS = 3600 * 1e9

local anomaly_config = anomaly.parse_config(read_config("anomaly_config")
    or 'mww_nonparametric("DEFAULT", 1, 5, 10, 0.7)')
local plugins = {}
local last_report = 0
local defaulted = {} -- plugins running a copy of the DEFAULT specs

-- A plugin's specs: its own, or a copy of the DEFAULT ones (each plugin needs
-- its own copy, since detect() keeps the time it last ran in the list).
local function specs_for(name)
    if anomaly_config[name] then return end
    local default = anomaly_config["DEFAULT"]
    if not default then return end
    local copy = {}
    for i, spec in ipairs(default) do copy[i] = spec end
    anomaly_config[name] = copy
    defaulted[name] = true
end

local function plugin(name)
    local p = plugins[name]
    if not p then
        local cb = circular_buffer.new(60, 1, 60)
        cb:set_header(1, "Failures", "count", "max")
        p = {last_report = 0, last_alert = 0, cbuf = cb}
        plugins[name] = p
        specs_for(name)
    end
    return p
end

function process_message()
    local ok, report = pcall(cjson.decode, read_message("Payload"))
    if not ok or type(report) ~= "table" then return -1 end
    last_report = read_message("Timestamp")
    for _, section in ipairs(SECTIONS) do
        local entries = report[section]
        if type(entries) ~= "table" then entries = {} end
        for _, entry in ipairs(entries) do
            if type(entry) ~= "table" then
                return -1, "invalid entry in section " .. section
            end
            local failures = entry.ProcessMessageFailures
            if type(failures) == "table" then
                if type(entry.Name) ~= "string" then return -1, "missing plugin Name" end
                local p = plugin(entry.Name)
                p.last_report = last_report
                local n = failures.value
                if type(n) == "number" and n > 0 then
                    p.cbuf:set(last_report, 1, n)
                end
            end
        end
    end
    return 0
end

function timer_event(ns)
    for name, p in pairs(plugins) do
        if ns - p.last_alert > HOUR_NS then
            local msg = anomaly.detect(ns, name, p.cbuf, anomaly_config)
            if msg then
                alert.queue(0, msg)
                p.last_alert = ns
            end
        end
        if p.last_report ~= last_report then
            plugins[name] = nil
            if defaulted[name] then
                anomaly_config[name] = nil
                defaulted[name] = nil
            end
        end
    end
    alert.send_queue(0)
end
