-- wrk report of the proxy scripts: one machine-readable line at the end of a run.
-- RESULT requests=N seconds=S rps=R p50_us=.. p90_us=.. p99_us=.. max_us=.. errors=E non2xx=X
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.connect + e.read + e.write + e.timeout, e.status))
end
