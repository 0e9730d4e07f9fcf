-- wrk script: POST /v1/forecast with examples/forecast.toml (100,000 draws). The body template is
-- in $FORECAST_BODY: with __SEED__ where the seed goes, a different seed per request (no two
-- requests are the same computation); or with __BASELINE__ and __LIKELY__, a different funnel per
-- request (the answered rate in [0.30, 0.40), the likely change in [0.03, 0.10): 7,000,000
-- distinct requests) and the default seed.
local template = os.getenv("FORECAST_BODY")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.gsub(template, "__SEED__", tostring(counter))
  body = string.gsub(body, "__LIKELY__", string.format("%.5f", 0.03 + (counter % 7000) * 1e-5))
  body = string.gsub(body, "__BASELINE__", string.format("%.4f", 0.30 + (math.floor(counter / 7000) % 1000) * 1e-4))
  return wrk.format("POST", "/v1/forecast", {["content-type"] = "application/json"}, body)
end
