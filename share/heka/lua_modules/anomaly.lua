-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[[
anomaly: anomaly detection on circular buffer columns.

parse_config(text) -- reads an anomaly_config string (nil gives nil) into
    {["payload name"] = {spec, spec, ...}, ...}; raises
    "could not parse the anomaly_config" when the text is not a sequence of
      roc("name", col, win, hwin, sd, loss_of_data, start_of_data)
      mww("name", col, win, nwin, pvalue, decreasing|increasing|any)
      mww_nonparametric("name", col, win, nwin, pstat)
    calls (each may be preceded by white space; a '"' in a name is written
    '""'; col, win, hwin and nwin are whole numbers, sd and pvalue decimals,
    pstat a decimal starting with 0).

detect(ns, name, cbuf, config) -- runs the specs for payload `name` on cbuf at
    most once per row interval, on the completed rows (the current row is left
    out). Returns nil, or the alert text (one line per finding,
    "<name> - algorithm: <alg> col: <col> msg: <text>") and the list of
    annotations (see the annotation module) marking the findings.

Algorithms:
  roc  -- rate of change: the mean of the last `win` rows against the mean of
          the `win` rows before them; an anomaly when they differ by more than
          `sd` standard deviations of the older rows (all of them, or the last
          `hwin`). loss_of_data / start_of_data also report data stopping or
          starting.
  mww  -- Mann-Whitney U test of the last window against each of the nwin - 1
          windows before it; an anomaly when more than a quarter of them differ
          (p < pvalue) in the given direction.
  mww_nonparametric -- the mean U / (win * win) over those windows against
          pstat (below 0.5: a falling trend, above: a rising one).

Part of "Heka, rebuilt in Rust"; same names and behaviour as Heka 0.10's module.
--]]

local annotation = require "annotation"
local lpeg = require "lpeg"
local math = require "math"
local string = require "string"
local table = require "table"
local error, ipairs, tonumber = error, ipairs, tonumber

local M = {}

-- The config grammar ----------------------------------------------------------

local P, R, S, C, Cc, Cg, Ct, Cs, Cf =
    lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct, lpeg.Cs, lpeg.Cf

local ws = S" \t\r\n\f\v"^0
local digits = R"09"^1
local whole = digits / tonumber
local decimal = (digits * (P"." * digits)^-1) / tonumber
local boolean = P"true" * Cc(true) + P"false" * Cc(false)
local comma = P"," * ws

local quoted = P'"' * Cs((P'""' / '"' + (1 - P'"'))^1) * P'"'

local function arg(name, pattern) return comma * Cg(pattern, name) end

local roc = ws * P"roc(" * quoted * Ct(
    arg("col", whole) * arg("win", whole) * arg("hwin", whole) * arg("sd", decimal)
    * arg("loss_of_data", boolean) * arg("start_of_data", boolean)
    * Cg(Cc"roc", "algorithm")) * P")"

local mww = ws * P"mww(" * quoted * Ct(
    arg("col", whole) * arg("win", whole) * arg("nwin", whole) * arg("pvalue", decimal)
    * arg("trend", C(P"decreasing" + P"increasing" + P"any"))
    * Cg(Cc"mww", "algorithm")) * P")"

local mww_nonparametric = ws * P"mww_nonparametric(" * quoted * Ct(
    arg("col", whole) * arg("win", whole) * arg("nwin", whole)
    * arg("pstat", (P"0" * (P"." * digits)^-1) / tonumber)
    * Cg(Cc"mww_nonparametric", "algorithm")) * P")"

local function collect(config, name, spec)
    local list = config[name]
    if not list then
        list = {}
        config[name] = list
    end
    list[#list + 1] = spec
    return config
end

local config_grammar = Cf(Ct"" * Cg(roc + mww_nonparametric + mww)^1, collect) * -1

function M.parse_config(text)
    if not text then return nil end
    local config = config_grammar:match(text)
    if not config then
        error("could not parse the anomaly_config")
    end
    return config
end

-- Detection -------------------------------------------------------------------

local function finding(name, spec, text, at)
    return string.format("%s - algorithm: %s col: %d msg: %s", name, spec.algorithm, spec.col, text),
        annotation.create(at, spec.col, "A", text)
end

local function geometry(cbuf)
    local rows, _, seconds = cbuf:get_configuration()
    return rows, seconds * 1e9, cbuf:current_time()
end

local function run_roc(name, cbuf, spec)
    local rows, row_ns, now = geometry(cbuf)
    if 3 * spec.win >= rows or (spec.hwin > 0 and spec.hwin < spec.win) then
        error(string.format("%s - algorithm: %s col: %d msg: win=%d hwin=%d arguments out of range (rows=%d)",
            name, spec.algorithm, spec.col, spec.win, spec.hwin, rows))
    end
    local window = spec.win * row_ns
    local previous_start = now - 2 * window
    local current_start = now - window
    -- A history reaching back past the oldest row is the whole history (Heka
    -- raised a Lua error there, which stopped the filter).
    local history_start = nil
    if spec.hwin ~= 0 then
        history_start = previous_start - spec.hwin * row_ns
        if history_start < now - (rows - 1) * row_ns then history_start = nil end
    end

    local sd = cbuf:compute("sd", spec.col, history_start, previous_start - row_ns)
    local previous, previous_n = cbuf:compute("avg", spec.col, previous_start, current_start - row_ns)
    local current, current_n = cbuf:compute("avg", spec.col, current_start, now - row_ns)

    local stopped = spec.loss_of_data and previous_n > 0 and current_n == 0
    local started = spec.start_of_data and previous_n == 0 and current_n > 0
    local text
    if stopped then
        text = "no new data"
    elseif started then
        text = "unexpected data"
    elseif math.abs(current - previous) > sd * spec.sd then
        text = string.format("detected anomaly, standard deviation exceeds %G", spec.sd)
    end
    if text then return finding(name, spec, text, now) end
end

-- The windows before the current one: calls f(start, end) for each of the
-- nwin - 1 earlier windows, newest first; returns the current window's bounds.
local function earlier_windows(name, cbuf, spec, f)
    local rows, row_ns, now = geometry(cbuf)
    if spec.win * spec.nwin >= rows then
        error(string.format("%s - algorithm: %s col: %d msg: arguments out of range",
            name, spec.algorithm, spec.col))
    end
    local window = spec.win * row_ns
    local cur_start = now - window
    local cur_end = cur_start + window - row_ns
    for i = 1, spec.nwin - 1 do
        local s = cur_start - i * window
        f(cur_start, cur_end, s, s + window - row_ns)
    end
    return now
end

local function run_mww(name, cbuf, spec)
    local significant = 0
    local now = earlier_windows(name, cbuf, spec, function(cs, ce, s, e)
        if spec.trend ~= "any" then
            local diff = cbuf:compute("avg", spec.col, s, e) - cbuf:compute("avg", spec.col, cs, ce)
            if spec.trend == "decreasing" and not (diff > 0) then return end
            if spec.trend == "increasing" and not (diff < 0) then return end
        end
        local _, p = cbuf:mannwhitneyu(spec.col, cs, ce, s, e)
        if p and p < spec.pvalue then significant = significant + 1 end
    end)
    if significant > spec.nwin / 4 then
        local text = "detected anomaly"
        if spec.trend ~= "any" then
            text = string.format("detected anomaly, %s values", spec.trend)
        end
        return finding(name, spec, text, now)
    end
end

local function run_mww_nonparametric(name, cbuf, spec)
    local overlap = 0
    local now = earlier_windows(name, cbuf, spec, function(cs, ce, s, e)
        local u = cbuf:mannwhitneyu(spec.col, cs, ce, s, e)
        if u then overlap = overlap + u / (spec.win * spec.win) - 0.5 end
    end)
    local pstat = overlap / (spec.nwin - 1) + 0.5
    if (spec.pstat < 0.5 and pstat < spec.pstat) or (spec.pstat > 0.5 and pstat > spec.pstat) then
        return finding(name, spec, string.format("detected anomaly, pstat: %G", pstat), now)
    end
end

local algorithms = {
    roc = run_roc,
    mww = run_mww,
    mww_nonparametric = run_mww_nonparametric,
}

function M.detect(ns, name, cbuf, config)
    -- Keep the graph moving even when no data arrives.
    if not cbuf:get(ns, 1) then cbuf:add(ns, 1, 0 / 0) end

    local specs = config[name]
    if not specs then return nil end

    -- Once per row interval at most: the ticker and the rows need not agree.
    if not specs.last_run then
        local _, _, seconds = cbuf:get_configuration()
        specs.last_run = 0
        specs.interval = seconds * 1e9
    end
    if ns <= specs.last_run or ns - specs.last_run < specs.interval then return nil end
    specs.last_run = ns

    local texts, annotations = {}, {}
    for _, spec in ipairs(specs) do
        local run = algorithms[spec.algorithm]
        if not run then
            error(string.format("%s - algorithm: %s col: %d msg: unknown algorithm",
                name, spec.algorithm, spec.col))
        end
        local text, anno = run(name, cbuf, spec)
        if text then
            texts[#texts + 1] = text
            annotations[#annotations + 1] = anno
        end
    end
    if #texts == 0 then return nil end
    return table.concat(texts, "\n"), annotations
end

return M
