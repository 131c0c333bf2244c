-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
Turns circular buffer payloads (a SandboxFilter's cbuf output) into JSON for
Librato's metrics POST API. It remembers, per message key, the time of the
last buffer it sent: the first buffer of a key sends every row but the last
(maybe still incomplete) one, later ones only the rows that have elapsed
since. Set the encoder's preserve_data = true so that a restart of hekad does
not send rows again.

Config:

- message_key (string, optional, default "%{Logger}:%{payload_name}")
    The key the last times are kept by, interpolated (msg_interpolate).

Example:

    [cbuf_librato_encoder]
    type = "SandboxEncoder"
    filename = "lua_encoders/cbuf_librato.lua"
    preserve_data = true

Output (one gauge per column and row, "nan" cells left out):

    {"gauges":[{"value":12,"measure_time":1410824950,"name":"HTTP_200","source":"thor"}]}

An invalid buffer, a time older than the last one, or one that is not a
whole number of rows later fails (-1); the same time again, or no values,
is skipped (-2).

Part of "Heka, rebuilt in Rust"; same options and output as Heka 0.10's encoder.
--]=]

require "cjson"
require "math"
require "string"
require "table"
local interp = require "msg_interpolate"

last_times = {}

local key_template = read_config("message_key") or "%{Logger}:%{payload_name}"

-- The header table when it has every key and one column_info per column.
local function valid_header(h)
    if type(h) ~= "table" or not h.time or not h.rows or not h.seconds_per_row
        or not h.columns or type(h.column_info) ~= "table" then
        return nil
    end
    if h.columns ~= #h.column_info then return nil end
    return h
end

-- The header and the data rows of a cbuf text, or nil.
local function parse(text)
    local header
    local rows = {}
    for line in string.gmatch(text, "[^\n]+") do
        if not header then
            local ok, h = pcall(cjson.decode, line)
            if not ok or type(h) ~= "table" then return nil end
            if not h.annotations then -- an annotations line comes first, if any
                header = valid_header(h)
                if not header then return nil end
            end
        else
            rows[#rows + 1] = line
        end
    end
    if not header or #rows < 3 or #rows ~= header.rows then return nil end
    return header, rows
end

-- The gauges (JSON texts) of rows first .. rows-1, or nil for a non-numeric cell.
local function gauges(source, header, rows, first)
    local list = {}
    local spr = header.seconds_per_row
    local time = header.time + (first - 1) * spr
    local src = cjson.encode(source)
    for r = first, header.rows - 1 do
        local cells = {}
        for cell in string.gmatch(rows[r], "[^\t]+") do cells[#cells + 1] = cell end
        for c, column in ipairs(header.column_info) do
            local cell = cells[c]
            if cell ~= "nan" then
                local v = cell and tonumber(cell)
                if not v or v ~= v or v == math.huge or v == -math.huge then return nil end
                list[#list + 1] = '{"value":' .. cjson.encode(v) .. ',"measure_time":'
                    .. cjson.encode(time) .. ',"name":' .. cjson.encode(column.name)
                    .. ',"source":' .. src .. "}"
            end
        end
        time = time + spr
    end
    return list
end

function process_message()
    local header, rows = parse(read_message("Payload"))
    if not header then return -1 end
    local time, nrows, spr = header.time, header.rows, header.seconds_per_row
    local key = interp.interpolate_from_msg(key_template)
    local last = last_times[key]
    local first = 1
    if last then
        if last > time then return -1 end
        if last == time then return -2 end
        local elapsed = time - last
        if elapsed % spr ~= 0 then return -1 end
        local advanced = elapsed / spr
        if advanced < nrows - 1 then first = nrows - advanced end
    end
    local list = gauges(read_message("Hostname"), header, rows, first)
    if not list then return -1 end
    if #list == 0 then return -2 end
    inject_payload("json", "output", '{"gauges":[' .. table.concat(list, ",") .. "]}")
    last_times[key] = time
    return 0
end
