-- wrk script of `python -m bench serve`: POST bodies read from a file (one JSON body per line),
-- in turn, each thread from its own place in the file; at the end, one line of JSON with the
-- counts and the latency percentiles.
--
--   wrk -t1 -c16 -d10s --latency -s rotate.lua http://127.0.0.1:8181/v1/check -- bodies.jsonl
--
-- The requests are formatted once, in init: request() only hands the next one out, so that the
-- load generator spends as little of the machine's two cores as it can.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("rotate.lua: give the file of bodies after --")
  end
  local headers = { ["Content-Type"] = "application/json" }
  requests = {}
  for line in io.lines(path) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  if #requests == 0 then
    error("rotate.lua: no bodies in " .. path)
  end
  -- threads start apart, so that they do not send the same request at the same time
  index = (id * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "mean": %.2f, "stdev": %.2f, "max": %d, '
      .. '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p99_9": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
