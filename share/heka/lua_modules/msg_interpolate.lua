-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
msg_interpolate: puts values of the current message into a string.

interpolate_from_msg(value, secs) -- value with every %{name} replaced

Each %{name} (the shortest run up to the next "}") becomes, in this order:
- the header: Type, Hostname, Pid, UUID (the raw 16 bytes), Logger,
  EnvVersion, Severity;
- else the first value of the dynamic field `name` (booleans as
  "true"/"false", numbers as Lua prints them);
- else os.date(name, secs) when that changes the text (a strftime format
  such as %Y.%m.%d; secs nil means now);
- else it is left as it was.

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's module.
--]=]

local os = require "os"
local string = require "string"
local read_message = read_message
local tostring = tostring
local type = type
local pcall = pcall

local M = {}
setfenv(1, M)

local headers = {
    Type = "Type", Hostname = "Hostname", Pid = "Pid", UUID = "Uuid",
    Logger = "Logger", EnvVersion = "EnvVersion", Severity = "Severity",
}

local when -- the seconds of the current call

local function replace(name)
    local header = headers[name]
    if header then
        return read_message(header)
    end
    local v = read_message("Fields[" .. name .. "]")
    if type(v) == "boolean" then
        return tostring(v)
    elseif v ~= nil then
        return v
    end
    -- A format starting with "*t" gives a table: not a substitution.
    local ok, date = pcall(os.date, name, when)
    if ok and type(date) == "string" and date ~= name then
        return date
    end
    return nil
end

function interpolate_from_msg(value, secs)
    when = secs
    return (string.gsub(value, "%%{(.-)}", replace))
end

return M
