-- wrk script for bench/bench_rate.py: GETs at a constant offered rate (wrk2-style, from plain wrk).
--   WRK_RATE    requests per second offered, over all threads
--   WRK_PATHS   file with one path per line, sent in turn (each thread from its own offset)
--   WRK_TOKEN   bearer token (empty: no Authorization header)
--   WRK_THREADS wrk's -t (each thread's init runs before the next thread's setup, so the threads
--               cannot count themselves)
-- wrk calls delay() before every request after a connection's first: each call takes the
-- thread's next send slot (slots 1/rate apart, per thread) and waits until it, measured with
-- clock_gettime(CLOCK_MONOTONIC) through LuaJIT's ffi. A connection free only after its slot
-- sends at once and the slip is counted ("late"): wrk times a request from when it was sent, so
-- late sends are where its latencies would understate a stall (coordinated omission); with no
-- late sends the offered rate held and the latencies are those of a constant-rate load.
-- done() prints one JSON line: achieved requests/s, p50/p99/max latency (ms), requests, errors,
-- late sends and the largest slip (ms).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } ipfhir_timespec;
int clock_gettime(int clk_id, ipfhir_timespec *tp);
]])
local ts = ffi.new("ipfhir_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local count = tonumber(os.getenv("WRK_THREADS"))

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local paths = {}
local turn = 0
local step = 1
local next_slot = nil
late = 0 -- globals: done() reads them from each thread
slip_max = 0
local token = os.getenv("WRK_TOKEN") or ""

function init(args)
  for line in io.lines(os.getenv("WRK_PATHS")) do
    if line ~= "" then
      table.insert(paths, line)
    end
  end
  local per_thread = tonumber(os.getenv("WRK_RATE")) / count
  step = 1000 / per_thread
  turn = math.floor(#paths * id / count)
  next_slot = now_ms() + step * id / count -- threads' slots interleave
  wrk.headers["Accept"] = "application/fhir+json"
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  turn = turn % #paths + 1
  return wrk.format("GET", paths[turn])
end

function delay()
  local slot = next_slot
  next_slot = next_slot + step
  local wait = slot - now_ms()
  if wait < 0 then
    if -wait > 1 then
      late = late + 1
    end
    if -wait > slip_max then
      slip_max = -wait
    end
    return 0
  end
  return wait
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  local all_late, all_slip = 0, 0
  for _, thread in ipairs(threads) do
    all_late = all_late + (thread:get("late") or 0)
    all_slip = math.max(all_slip, thread:get("slip_max") or 0)
  end
  io.write(string.format(
    '{"rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "requests": %d, '
      .. '"errors": %d, "late": %d, "slip_max_ms": %.1f}\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, errors, all_late, all_slip))
end
