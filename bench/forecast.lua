-- wrk script: POST /v1/forecast with examples/forecast.toml (100,000 draws), a different seed per
-- request so no two requests are the same computation. The body template is in $FORECAST_BODY,
-- with "__SEED__" where the seed goes.
local template = os.getenv("FORECAST_BODY")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.gsub(template, "__SEED__", tostring(counter))
  return wrk.format("POST", "/v1/forecast", {["content-type"] = "application/json"}, body)
end
