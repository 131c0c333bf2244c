-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
frequent_items: the most frequent values of a message variable (client
addresses, say), counted in at most max_items slots: a value not yet counted
while every slot is taken lowers every count by one and frees the slots that
reach zero (the value itself is not counted).

With reset_days > 0 the counts start again once reset_days UTC days (by
message Timestamp) have passed since the last reset; messages from before the
last reset day are ignored. A message without the variable fails with -1.

Output (every ticker_interval): inject_payload("tsv", "Weighting by
<message_variable>") with the lines "<message_variable>\tWeight" and then
"<value>\t<count>" for the values counted more than min_output_weight times.

Config:
- message_variable (string, required): e.g. "Fields[remote_addr]".
- max_items (uint, default 1000)
- min_output_weight (uint, default 100)
- reset_days (uint, default 1; 0 never resets)

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's filter.
--]]

require "math"
require "string"

local variable = read_config("message_variable") or error("message_variable configuration must be specified")
local max_items = read_config("max_items") or 1000
local min_output_weight = read_config("min_output_weight") or 100
local reset_days = read_config("reset_days") or 1

local DAY_NS = 86400 * 1e9

items = {}       -- value -> count
items_size = 0
last_reset = 0   -- the UTC day of the last reset

function process_message()
    local item = read_message(variable)
    if item == nil then return -1 end

    if reset_days > 0 then
        local today = math.floor(read_message("Timestamp") / DAY_NS)
        if today < last_reset then return 0 end
        if today - last_reset >= reset_days then
            last_reset = today
            items = {}
            items_size = 0
        end
    end

    local count = items[item]
    if count then
        items[item] = count + 1
    elseif items_size < max_items then
        items[item] = 1
        items_size = items_size + 1
    else
        for k, v in pairs(items) do
            if v <= 1 then
                items[k] = nil
                items_size = items_size - 1
            else
                items[k] = v - 1
            end
        end
    end
    return 0
end

function timer_event(ns)
    add_to_payload(variable, "\tWeight\n")
    for item, count in pairs(items) do
        if count > min_output_weight then
            add_to_payload(item, "\t", count, "\n")
        end
    end
    inject_payload("tsv", "Weighting by " .. variable)
end
