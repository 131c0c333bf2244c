-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
Decodes lines rsyslog wrote (the Payload) with a string template.

Config:

- template (string, required)
    The template string from rsyslog.conf, e.g. RSYSLOG_TraditionalFileFormat:
    '%TIMESTAMP% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n'
- type (string, optional, default nil)
    The message Type; when unset the input message's Type is kept.
- hostname_keep (bool, optional, default false)
    Keeps the input message's Hostname and the hostname/source as fields,
    instead of setting Hostname from the log.
- tz (string, optional, default UTC)
    The zone of times written without an offset (read by hekad, not here).

Message: Timestamp from %timestamp% (or %timereported%), Severity from %pri%
(with the field syslogfacility) or the syslogseverity/syslogpriority
properties, Pid and the field programname from %syslogtag%, Hostname from
%hostname% or %source%, Payload from %msg%; other properties are fields
(structured data as fields "structured-data.id", "structured-data._<param>").

Example:

    [RsyslogDecoder]
    type = "SandboxDecoder"
    filename = "lua_decoders/rsyslog.lua"

    [RsyslogDecoder.config]
    type = "RSYSLOG_TraditionalFileFormat"
    template = '%TIMESTAMP% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n'
    tz = "America/Los_Angeles"

A line that does not match the template is a decode failure.

Part of "Heka, rebuilt in Rust"; behaves as Heka 0.10's decoder of the same
name.
--]]

local syslog = require "syslog"

local msg_type = read_config("type")
local hostname_keep = read_config("hostname_keep")
local grammar = syslog.build_rsyslog_grammar(read_config("template"))

local severity_properties = {"syslogseverity", "syslogseverity-text", "syslogpriority",
                             "syslogpriority-text"}

function process_message()
    local line = read_message("Payload")
    local fields = grammar:match(line or "")
    if not fields then return -1 end

    local msg = {Type = msg_type}
    msg.Timestamp = fields.timestamp
    fields.timestamp = nil

    if fields.pri then
        msg.Severity = fields.pri.severity
        fields.syslogfacility = fields.pri.facility
        fields.pri = nil
    else
        for _, name in ipairs(severity_properties) do
            if msg.Severity == nil then msg.Severity = fields[name] end
            fields[name] = nil
        end
    end

    local tag = fields.syslogtag
    if tag then
        fields.programname = tag.programname
        msg.Pid = tag.pid
        fields.syslogtag = nil
    end

    if not hostname_keep then
        msg.Hostname = fields.hostname or fields.source
        fields.hostname = nil
        fields.source = nil
    end

    local sd = fields["structured-data"]
    if sd then
        fields["structured-data"] = nil
        for k, v in pairs(sd) do fields["structured-data." .. k] = v end
    end

    msg.Payload = fields.msg
    fields.msg = nil
    msg.Fields = fields
    if not pcall(inject_message, msg) then return -1 end
    return 0
end
