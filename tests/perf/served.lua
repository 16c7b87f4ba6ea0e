-- wrk script of tests/perf/bench_served.py: POSTs one GraphQL body to /graphql.
--
-- Environment (read once per thread):
--   SERVED_BODY    the JSON body; every "{n}" in it becomes a number unique to the request
--                  (thread number and the thread's count), so repeated mutations differ;
--   SERVED_TOKENS  a file of bearer tokens, one a line; thread i (from 1) sends token i
--                  (round robin): with -t N -c N each connection is one unit. Empty: no header.
-- In done(), one line "SERVED {json}" with the figures the bench reads: requests, answers that
-- were 200 without "errors", the others, and latency percentiles in microseconds.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  if path == nil or path == "" then
    return out
  end
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(out, line)
    end
  end
  return out
end

function init(args)
  local tokens = lines(os.getenv("SERVED_TOKENS"))
  template = os.getenv("SERVED_BODY")
  varies = string.find(template, "{n}", 1, true) ~= nil
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if #tokens > 0 then
    wrk.headers["Authorization"] = "Bearer " .. tokens[(id - 1) % #tokens + 1]
  end
  wrk.body = template
  sent = 0
  ok = 0
  failed = 0
  first_failure = ""
end

function request()
  if varies then
    sent = sent + 1
    local n = tostring(id * 100000000 + sent)
    return wrk.format(nil, "/graphql", nil, (string.gsub(template, "{n}", n)))
  end
  return wrk.format(nil, "/graphql")
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) == nil then
    ok = ok + 1
  else
    failed = failed + 1
    if first_failure == "" then
      first_failure = tostring(status) .. " " .. string.sub(body, 1, 300)
    end
  end
end

local function quoted(text)
  return '"' .. string.gsub(string.gsub(text, '[%c"\\]', " "), "%s+", " ") .. '"'
end

function done(summary, latency, requests)
  local answered, refused, failure = 0, 0, ""
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("ok")
    refused = refused + thread:get("failed")
    if failure == "" then
      failure = thread:get("first_failure")
    end
  end
  io.write(string.format(
    'SERVED {"requests": %d, "seconds": %.6f, "ok": %d, "failed": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "first_failure": %s}\n',
    summary.requests, summary.duration / 1e6, answered, refused,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    quoted(failure)))
end
