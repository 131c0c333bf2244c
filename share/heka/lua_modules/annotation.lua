-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
annotation: dygraphs annotations for circular buffer graphs, kept per payload
name in the global _ANNOTATIONS (so preserve_data keeps them).

create(ns, col, stext, text)  -- {x = <ms>, col = col, shortText = stext, text = text}
add(name, ns, col, stext, text)
concat(name, list)            -- appends a list made with create
remove(name)
set_prune(name, ns_duration)  -- how long annotations stay (default one day)
prune(name, ns)               -- drops the expired ones and returns the JSON line
                              -- '{"annotations":[...]}\n' that goes before the
                              -- cbuf in a payload (nil for an unknown name)

Part of "Heka, rebuilt in Rust"; same names and behaviour as Heka 0.10's module.
--]]

require "cjson"
require "math"

_ANNOTATIONS = {}

local M = {}

local DAY_NS = 86400 * 1e9

local function entry(name)
    local e = _ANNOTATIONS[name]
    if not e then
        e = {annotations = {}, prune_duration = DAY_NS}
        _ANNOTATIONS[name] = e
    end
    return e
end

function M.create(ns, col, stext, text)
    return {x = math.floor(ns / 1e6), col = col, shortText = stext, text = text}
end

function M.add(name, ns, col, stext, text)
    local list = entry(name).annotations
    list[#list + 1] = M.create(ns, col, stext, text)
end

function M.concat(name, annotations)
    local list = entry(name).annotations
    for _, a in ipairs(annotations) do
        list[#list + 1] = a
    end
end

function M.remove(name)
    _ANNOTATIONS[name] = nil
end

function M.set_prune(name, ns_duration)
    entry(name).prune_duration = ns_duration
end

function M.prune(name, ns)
    local e = _ANNOTATIONS[name]
    if not e then return nil end
    local kept = {}
    for _, a in ipairs(e.annotations) do
        if a.x * 1e6 + e.prune_duration > ns then
            kept[#kept + 1] = a
        end
    end
    e.annotations = kept
    return cjson.encode({annotations = kept}) .. "\n"
end

return M
