-- wrk script of ./dev bench: counts the responses whose status is not 2xx (wrk itself only
-- counts >= 400) and prints "non2xx N" at the end. "wrk ... -s bench.lua URL -- post" sends the
-- lab's Postman request instead of a GET (Passo-16).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  if args[1] == "post" then
    wrk.method = "POST"
    wrk.body = '{"amount": 2024, "description": "teste"}'
    wrk.headers["Content-Type"] = "application/json"
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("non2xx") or 0)
  end
  io.write(string.format("non2xx %d\n", total))
end
