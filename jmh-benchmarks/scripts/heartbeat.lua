-- wrk script for heartbeat-load.sh: TTL renewals of registered instances, or a read as the HTTP
-- stack's baseline. Instance n is svc-<n % services>-<n>, as registered by the script.
-- Requests walk the pool in a stride-7919 permutation (each wrk thread from its own offset), so
-- consecutive requests renew different instances and every instance is renewed every
-- pool / rate seconds.
--
-- Environment:
--   HB_MODE      native (PUT /v1/instances/<id>/heartbeat), consul (PUT
--                /v1/agent/check/pass/service:<id>, on the Consul port), status (GET /v1/status:
--                counts the non-empty services, O(services)) or leader (GET /v1/status/leader on the
--                Consul port: a constant answer, the cheapest handler there is)
--   HB_POOL      instances (default 10000)
--   HB_SERVICES  services they are spread over (default 1000)
--   GATEWAY_TOKEN  the gateway's token (the scripts read the management token from the data
--                directory), sent as X-Consul-Token on every request; unset or empty: none (a
--                gateway with edgegate.acl.default-policy allow, or the leader baseline, which
--                needs none)
-- Prints one machine-readable line at the end:
--   RESULT requests=N duration_us=N rps=N p50_us=N p90_us=N p99_us=N max_us=N non2xx=N socket_errors=N

local mode = os.getenv("HB_MODE") or "native"
local pool = tonumber(os.getenv("HB_POOL") or "10000")
local services = tonumber(os.getenv("HB_SERVICES") or "1000")
local token = os.getenv("GATEWAY_TOKEN") or ""
if token ~= "" then
   -- wrk.format uses wrk.headers when a request passes none
   wrk.headers["X-Consul-Token"] = token
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local counter
local status_request
local leader_request

function init(args)
   counter = (tid or 1) * 1000003
   status_request = wrk.format("GET", "/v1/status")
   leader_request = wrk.format("GET", "/v1/status/leader")
end

function request()
   if mode == "status" then
      return status_request
   elseif mode == "leader" then
      return leader_request
   end
   counter = counter + 1
   local n = (counter * 7919) % pool
   local id = "svc-" .. (n % services) .. "-" .. n
   if mode == "consul" then
      return wrk.format("PUT", "/v1/agent/check/pass/service:" .. id, nil, "")
   end
   return wrk.format("PUT", "/v1/instances/" .. id .. "/heartbeat", nil, "")
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect + e.read + e.write + e.timeout))
end
