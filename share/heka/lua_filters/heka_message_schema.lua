-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
heka_message_schema: documents the messages of a stream for data discovery:
the tree Logger -> Type -> EnvVersion with the number of messages of each
(in brackets), and under each version its fields with their type ("string",
"number", "bool", or "mismatch" when the type varies), marked
" - optional [n]" when only n of the version's messages carry them. The counts
are never reset; not for production use.

Output (every ticker_interval): inject_payload("txt", "Message Schema"), e.g.

    Logger -> Type -> EnvVersion -> Field Attributes.
    The number in brackets is the number of occurrences of each logger/type/attribute.

    nginx [3]
        nginx.access [3]
             -no version- [3]
                status (number)
                http_referer (string - optional [1])

Config: none.

    [MessageSchema]
    type = "SandboxFilter"
    filename = "lua_filters/heka_message_schema.lua"
    ticker_interval = 60
    message_matcher = "Logger != 'MessageSchema'"

Part of "Heka, rebuilt in Rust"; same output as Heka 0.10's filter.
--]]

-- Logger -> Type -> EnvVersion -> field name; each level counts its messages
-- under the key COUNT, each field also keeps its type code (-1: mismatch).
schema = {}

local COUNT = "_cnt_"

local TYPE_NAMES = {[-1] = "mismatch", [0] = "string", [1] = "string",
    [2] = "number", [3] = "number", [4] = "bool"}

local function child(node, key)
    local c = node[key]
    if not c then
        c = {[COUNT] = 0}
        node[key] = c
    end
    c[COUNT] = c[COUNT] + 1
    return c
end

function process_message()
    local logger = child(schema, read_message("Logger") or "")
    local mtype = child(logger, read_message("Type") or "")
    local version = child(mtype, read_message("EnvVersion") or "")
    while true do
        local vtype, name = read_next_field()
        if not vtype then break end
        local f = version[name]
        if f then
            f[COUNT] = f[COUNT] + 1
            if f.type ~= vtype then f.type = -1 end
        else
            version[name] = {[COUNT] = 1, type = vtype}
        end
    end
    return 0
end

-- The children of a node (its table values), named by key ("" -> `empty`).
local function each_child(node, empty, f)
    for key, c in pairs(node) do
        if type(c) == "table" then
            if key == "" then key = empty end
            f(key, c)
        end
    end
end

function timer_event(ns)
    add_to_payload("Logger -> Type -> EnvVersion -> Field Attributes.\n",
        "The number in brackets is the number of occurrences of each logger/type/attribute.\n\n")
    each_child(schema, "-no logger-", function(logger, l)
        add_to_payload(logger, " [", l[COUNT], "]\n")
        each_child(l, "-no type-", function(mtype, t)
            add_to_payload("    ", mtype, " [", t[COUNT], "]\n")
            each_child(t, "-no version-", function(version, v)
                local n = v[COUNT]
                add_to_payload("         ", version, " [", n, "]\n")
                for name, f in pairs(v) do
                    if name ~= COUNT then
                        add_to_payload("            ", name, " (", TYPE_NAMES[f.type] or "unknown")
                        if f[COUNT] ~= n then
                            add_to_payload(" - optional [", f[COUNT], "]")
                        end
                        add_to_payload(")\n")
                    end
                end
            end)
        end)
    end)
    inject_payload("txt", "Message Schema")
end
