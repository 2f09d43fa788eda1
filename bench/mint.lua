-- wrk: POST /v1/tokens with the root bearer in $LATCHKEY_TOKEN, a new name each time (names
-- are unique per owner), into the seeded organization. wrk counts the answers that are not 2xx;
-- bench/run fails the run on any.
local thread_id = 0
local counter = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("prefix", "load " .. os.time() .. " " .. thread_id)
end

function request()
  counter = counter + 1
  local body = '{"name": "' .. prefix .. ' ' .. counter ..
    '", "scopes": ["tokens:read"], "organization": "acme"}'
  return wrk.format("POST", "/v1/tokens", {
    ["Authorization"] = "Bearer " .. os.getenv("LATCHKEY_TOKEN"),
    ["Content-Type"] = "application/json",
  }, body)
end
