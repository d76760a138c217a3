-- wrk script for bench/bench_wrk.py: one request shape per run, set through the environment.
--   WRK_METHOD  GET or POST
--   WRK_BODY    file whose bytes are the POST body (a FHIR JSON resource)
--   WRK_TOKEN   bearer token (empty: no Authorization header)
-- done() prints one JSON line: requests/s, p50 and p99 latency (ms), requests, errors.
local method = os.getenv("WRK_METHOD") or "GET"
local token = os.getenv("WRK_TOKEN") or ""
local body_file = os.getenv("WRK_BODY") or ""

wrk.method = method
wrk.headers["Accept"] = "application/fhir+json"
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
if body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/fhir+json"
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "requests": %d, "errors": %d}\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors))
end
