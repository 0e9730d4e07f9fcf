-- wrk script: POST /v1/assign with a different phone number per request.
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"unit_id": "+1555%07d", "attributes": {"country": "US"}}', counter)
  return wrk.format("POST", "/v1/assign", {["content-type"] = "application/json"}, body)
end
