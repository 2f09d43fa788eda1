-- wrk: POST /v1/tokens/verify, cycling through the secrets in $LATCHKEY_SECRETS (one a line).
-- Every request is formatted once, at start, and no response goes through Lua, so that wrk
-- spends its time sending (bench/run checks the answers apart, and wrk counts non-2xx ones).
local requests = {}
local next = 0

function init(args)
  for secret in io.lines(os.getenv("LATCHKEY_SECRETS")) do
    local body = '{"token": "' .. secret .. '"}'
    requests[#requests + 1] = wrk.format("POST", "/v1/tokens/verify",
      { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  next = next % #requests + 1
  return requests[next]
end
