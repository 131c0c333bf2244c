-- This Source Code Form is subject to the terms of the Mozilla Public
-- License, v. 2.0. If a copy of the MPL was not distributed with this
-- file, You can obtain one at http://mozilla.org/MPL/2.0/.

--[=[
graphite: Graphite plaintext lines for counters and timers (statsd style).

count_rate(bucket, count, ticker_interval, now_sec)
    -- "stats.counters.<bucket>.count <count> <now>\n" and
       "stats.counters.<bucket>.rate <count/ticker_interval> <now>\n"
multi_counts_rates(counts, ticker_interval, now_sec)
    -- count_rate for every bucket = count of the table, concatenated
timeseries_metrics(bucket, times, ticker_interval, percent_thresh, now_sec)
    -- stats.timers.<bucket>.{count, count_ps, lower, upper, sum, mean,
       mean_<pct>, upper_<pct>} lines (sorts times in place)
multi_timeseries_metrics(timers, ticker_interval, percent_thresh, now_sec)
    -- timeseries_metrics for every bucket = times of the table, concatenated
ns_to_sec(ns)  -- whole seconds

Integers print with %d, the other values with %f.

Part of "Heka, rebuilt in Rust"; same API as Heka 0.10's module.
--]=]

local math = require "math"
local string = require "string"
local table = require "table"
local ipairs = ipairs
local pairs = pairs

local M = {}
setfenv(1, M)

function count_rate(bucket, count, ticker_interval, now_sec)
    return string.format("stats.counters.%s.count %d %d\n", bucket, count, now_sec)
        .. string.format("stats.counters.%s.rate %f %d\n", bucket, count / ticker_interval, now_sec)
end

function multi_counts_rates(counts, ticker_interval, now_sec)
    local out = {}
    for bucket, count in pairs(counts) do
        out[#out + 1] = count_rate(bucket, count, ticker_interval, now_sec)
    end
    return table.concat(out)
end

function timeseries_metrics(bucket, times, ticker_interval, percent_thresh, now_sec)
    local n = #times
    local rate, lower, upper, sum, mean, mean_pct, upper_pct = 0, 0, 0, 0, 0, 0, 0
    if n > 0 then
        table.sort(times)
        rate = n / ticker_interval
        lower, upper = times[1], times[n]
        local running = {}
        local total = 0
        for i, t in ipairs(times) do
            total = total + t
            running[i] = total
        end
        sum = total
        mean = sum / n
        mean_pct, upper_pct = lower, upper
        if n > 1 then
            -- The values below the percentile: n less the rounded share above it.
            local keep = n - math.floor((100 - percent_thresh) / 100 * n + 0.5)
            if keep > 0 then
                mean_pct = running[keep] / keep
                upper_pct = times[keep]
            end
        end
    end
    local function line(suffix, fmt, v)
        return string.format("stats.timers.%s.%s " .. fmt .. " %d\n", bucket, suffix, v, now_sec)
    end
    return line("count", "%d", n)
        .. line("count_ps", "%f", rate)
        .. line("lower", "%f", lower)
        .. line("upper", "%f", upper)
        .. line("sum", "%f", sum)
        .. line("mean", "%f", mean)
        .. line(string.format("mean_%d", percent_thresh), "%f", mean_pct)
        .. line(string.format("upper_%d", percent_thresh), "%f", upper_pct)
end

function multi_timeseries_metrics(timers, ticker_interval, percent_thresh, now_sec)
    local out = {}
    for bucket, times in pairs(timers) do
        out[#out + 1] = timeseries_metrics(bucket, times, ticker_interval, percent_thresh, now_sec)
    end
    return table.concat(out)
end

function ns_to_sec(ns)
    return math.floor(ns / 1e9)
end

return M
