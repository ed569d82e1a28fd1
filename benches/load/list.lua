-- wrk script for GET /api/v1/callbacks?limit=50 with a Bearer key (env
-- AFUREKO_KEY); counts every answer that is not 200, as the peers' voice.lua
-- does, so scripts/bench can refuse a run that measured errors.
non200 = 0  -- a global: done() reads it from each thread
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("AFUREKO_KEY")
  non200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non200")
  end
  io.write(string.format("LUA non200=%d\n", total))
end
