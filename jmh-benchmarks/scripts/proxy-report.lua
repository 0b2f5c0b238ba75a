-- wrk report of the proxy scripts: one machine-readable line at the end of a run.
-- RESULT requests=N seconds=S rps=R p50_us=.. p90_us=.. p99_us=.. max_us=.. errors=E non2xx=X
-- GATEWAY_TOKEN (environment), when set and not empty: sent as X-Consul-Token on every request
-- (a route with policy.require-token, or edgegate.proxy.require-token, needs it; the gateway
-- never forwards it upstream).
local token = os.getenv("GATEWAY_TOKEN") or ""
if token ~= "" then
    wrk.headers["X-Consul-Token"] = token
end
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.connect + e.read + e.write + e.timeout, e.status))
end
