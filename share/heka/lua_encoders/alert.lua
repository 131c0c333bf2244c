-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Renders alert messages (a filter's `alert` payloads) as readable text, e.g.
for SmtpOutput.

Config:

<none>

Example:

    [AlertEncoder]
    type = "SandboxEncoder"
    filename = "lua_encoders/alert.lua"

Output (Timestamp in UTC):

    Timestamp: 2014-05-14T14:20:18Z
    Hostname: ip-10-226-204-51
    Plugin: FxaBrowserIdHTTPStatus
    Alert: HTTP Status - algorithm: roc col: 1 msg: detected anomaly, standard deviation exceeds 1.5

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "os"
require "string"

function process_message()
    local when = os.date("!%Y-%m-%dT%H:%M:%SZ", read_message("Timestamp") / 1e9)
    inject_payload("txt", "", string.format("Timestamp: %s\nHostname: %s\nPlugin: %s\nAlert: %s\n",
        when, read_message("Hostname"), read_message("Logger"), read_message("Payload")))
    return 0
end
