-- wrk script for registration-load.sh: one durable registration per request against the Edgegate
-- native API or etcd's v3 JSON gateway. Requests cycle over a fixed pool of instances, as on a
-- real node, and each carries a new revision in its metadata, so every request is a real change
-- that must reach the disk (not a no-op re-registration). The registration body is
-- the same JSON in both cases (etcd stores it, base64-encoded, as the value of a key per instance).
--
-- Environment:
--   REG_TARGET  gateway (POST /v1/instances) or etcd (POST /v3/kv/put)
--   REG_RUN     a tag that keeps ids of different runs (warm-up, measured) apart
--   REG_SERVICES  how many services the instances are spread over (default 1000)
--   REG_POOL    how many distinct instances (default 10000)
--   GATEWAY_TOKEN  the gateway's token, sent as X-Consul-Token with every registration (service
--               write); not sent to etcd
-- Prints one machine-readable line at the end:
--   RESULT requests=N duration_us=N rps=N p50_us=N p90_us=N p99_us=N max_us=N non2xx=N socket_errors=N

local target = os.getenv("REG_TARGET") or "gateway"
local run = os.getenv("REG_RUN") or "m"
local services = tonumber(os.getenv("REG_SERVICES") or "1000")
local pool = tonumber(os.getenv("REG_POOL") or "10000")

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- base64 without padding tricks: standard alphabet, '=' padded (etcd's gateway decodes std base64)
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local enc = {}
for i = 1, 64 do enc[i - 1] = alphabet:sub(i, i) end

local function base64(s)
   local out = {}
   local n = #s
   local i = 1
   while i <= n - 2 do
      local a, b, c = s:byte(i, i + 2)
      local v = a * 65536 + b * 256 + c
      out[#out + 1] = enc[math.floor(v / 262144) % 64] .. enc[math.floor(v / 4096) % 64]
         .. enc[math.floor(v / 64) % 64] .. enc[v % 64]
      i = i + 3
   end
   local rest = n - i + 1
   if rest == 2 then
      local a, b = s:byte(i, i + 1)
      local v = a * 65536 + b * 256
      out[#out + 1] = enc[math.floor(v / 262144) % 64] .. enc[math.floor(v / 4096) % 64]
         .. enc[math.floor(v / 64) % 64] .. "="
   elseif rest == 1 then
      local v = s:byte(i) * 65536
      out[#out + 1] = enc[math.floor(v / 262144) % 64] .. enc[math.floor(v / 4096) % 64] .. "=="
   end
   return table.concat(out)
end

local counter = 0
local prefix
local headers = { ["Content-Type"] = "application/json" }
local token = os.getenv("GATEWAY_TOKEN") or ""
if target == "gateway" and token ~= "" then
   headers["X-Consul-Token"] = token
end

function init(args)
   prefix = run .. "-" .. tid
end

local function registration()
   counter = counter + 1
   local n = (tid * 7919 + counter) % pool
   local service = "svc-" .. (n % services)
   local id = service .. "-" .. n
   local body = string.format(
      '{"service":"%s","id":"%s","address":"10.0.%d.%d","port":8080,"tags":["version:v1"],"meta":{"region":"r1","rev":"%s-%d"}}',
      service, id, math.floor(n / 256) % 256, n % 256, prefix, counter)
   return id, body
end

function request()
   local id, body = registration()
   if target == "etcd" then
      local put = '{"key":"' .. base64("/edgegate/instances/" .. id) .. '","value":"' .. base64(body) .. '"}'
      return wrk.format("POST", "/v3/kv/put", headers, put)
   end
   return wrk.format("POST", "/v1/instances", headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect + e.read + e.write + e.timeout))
end
