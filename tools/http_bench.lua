-- wrk script for tools/http_bench.sh: replays pre-signed requests (http_bench_prep) so that every
-- request carries a fresh nonce, and prints the latency percentiles as one JSON line.
local requests, index, step = nil, 0, 1
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local m, p, k, t, n, s, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = {m, p, {["X-Govcredit-Key"] = k, ["X-Govcredit-Time"] = t,
      ["X-Govcredit-Nonce"] = n, ["X-Govcredit-Signature"] = s, ["Content-Type"] = "application/json"}, b}
  end
  step = tonumber(args[2]) or 1
  index = id + 1
end

function request()
  local r = requests[index]
  index = index + step
  if index > #requests then index = id + 1 end
  return wrk.format(r[1], r[2], r[3], r[4] ~= "" and r[4] or nil)
end

function done(summary, latency, requests_)
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"errors_status":%d,"errors_socket":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
