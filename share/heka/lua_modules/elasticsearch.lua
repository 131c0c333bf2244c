-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
elasticsearch: ElasticSearch bulk API helpers.

bulkapi_index_json(index, type_name, id, ns)
    -- the bulk API action line {"index":{"_index":...,"_type":...,"_id":...}}
       (no newline); a nil argument leaves its key out. Each string goes
       through msg_interpolate; strftime formats use ns (nanoseconds, the
       current time when nil).

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's module.
--]=]

local cjson = require "cjson"
local interp = require "msg_interpolate"
local table = require "table"

local M = {}
setfenv(1, M)

function bulkapi_index_json(index, type_name, id, ns)
    local secs
    if ns then secs = ns / 1e9 end
    local parts = {}
    local function add(key, value)
        if value then
            parts[#parts + 1] = cjson.encode(key) .. ":"
                .. cjson.encode(interp.interpolate_from_msg(value, secs))
        end
    end
    add("_index", index)
    add("_type", type_name)
    add("_id", id)
    return '{"index":{' .. table.concat(parts, ",") .. "}}"
end

return M
