-- wrk: POST /v1/tokens/verify, cycling through the first $LATCHKEY_VERIFY_SECRETS (100,000 by
-- default) of the secrets in $LATCHKEY_SECRETS (one a line): a working set that bench/run's
-- warm-up pass puts in the cache whole, so that the load measures verifications that hit it.
-- Every request is formatted once, at start, and no response goes through Lua, so that wrk
-- spends its time sending (bench/run checks the answers apart, and wrk counts non-2xx ones).
local requests = {}
local next = 0

function init(args)
  local limit = tonumber(os.getenv("LATCHKEY_VERIFY_SECRETS") or "100000")
  for secret in io.lines(os.getenv("LATCHKEY_SECRETS")) do
    if #requests >= limit then break end
    local body = '{"token": "' .. secret .. '"}'
    requests[#requests + 1] = wrk.format("POST", "/v1/tokens/verify",
      { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  next = next % #requests + 1
  return requests[next]
end
