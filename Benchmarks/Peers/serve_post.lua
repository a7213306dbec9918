-- wrk script for `compare serve`: POSTs one JSON request of 64 features to the model endpoint.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local values = {}
for i = 1, 64 do values[i] = string.format("%.3f", (i % 17) / 17) end
wrk.body = '{"features": [' .. table.concat(values, ",") .. ']}'
