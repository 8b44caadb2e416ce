-- Shared by the wrk scripts: per-thread status counts gathered by done() into one JSON line.
local M = {}

-- Call from response(): counts a status in globals that done() can read back from the thread.
function M.count(status)
   local name = "status_" .. status
   local n = _G[name]
   if n == nil then
      codes_seen = (codes_seen or "") .. status .. " "
      n = 0
   end
   _G[name] = n + 1
end

function M.report(summary, latency, threads, extra)
   local statuses, exhausted = {}, 0
   -- thread:get() copies numbers and strings only: the codes seen are a string, each count a global.
   for _, thread in ipairs(threads) do
      for code in string.gmatch(thread:get("codes_seen") or "", "%d+") do
         local n = tonumber(code)
         statuses[n] = (statuses[n] or 0) + (thread:get("status_" .. code) or 0)
      end
      exhausted = exhausted + (thread:get("exhausted") or 0)
   end
   local parts = {}
   for code, n in pairs(statuses) do
      parts[#parts + 1] = string.format('"%d": %d', code, n)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
      '"statuses": {%s}, "users_reused": %d%s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, table.concat(parts, ", "), exhausted, extra or ""))
end

return M
