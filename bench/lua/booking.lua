-- POST /api/v1/announcements/{id}/bookings, each request from a DIFFERENT guest with its own token.
-- args: tokens_file mode first per [threads [key_prefix]]
--   mode "hot":    requests 0..999 go to announcement `first`, 1000..1999 to first+1, ... (per = seats)
--   mode "spread": request k goes to announcement first + k % per
--   mode "one":    every request goes to announcement `first`
-- Request k (counted over all threads) comes from guest k+1, whose token is line k+1 of the file.
-- With a key_prefix, request k also sends `Idempotency-Key: <key_prefix>-<k>` (a new key per request:
-- the prefix is new for every run, since guests and so user+key pairs are reused across runs).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
local common = require("common")

local ANNOUNCEMENT_PREFIX = "00000000-0005-4000-8000-"
local BODY = '{"seats": 1}'
local threads, next_thread = {}, 0

function setup(thread)
   thread:set("thread_index", next_thread)
   next_thread = next_thread + 1
   threads[#threads + 1] = thread
end

local tokens, mode, first, per, nthreads, key_prefix
local sent = 0
exhausted = 0

function init(args)
   tokens = {}
   for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
   mode, first, per = args[2], tonumber(args[3]), tonumber(args[4])
   nthreads = tonumber(args[5]) or 1  -- wrk -t: the threads share the request numbering
   if args[6] ~= nil and args[6] ~= "" then key_prefix = args[6] end
end

function request()
   local k = thread_index + sent * nthreads
   sent = sent + 1
   local guest = k + 1
   if guest > #tokens then
      exhausted = exhausted + 1  -- more requests than guests: reported, and a 409 already_booked
      guest = (k % #tokens) + 1
   end
   local a = first
   if mode == "hot" then
      a = first + math.floor(k / per)
   elseif mode == "spread" then
      a = first + k % per
   end
   local path = "/api/v1/announcements/" .. ANNOUNCEMENT_PREFIX .. string.format("%012d", a) .. "/bookings"
   local headers = {
      ["Authorization"] = "Bearer " .. tokens[guest],
      ["Content-Type"] = "application/json",
   }
   if key_prefix then headers["Idempotency-Key"] = key_prefix .. "-" .. k end
   return wrk.format("POST", path, headers, BODY)
end

function response(status, headers, body)
   common.count(status)
end

function done(summary, latency, requests)
   common.report(summary, latency, threads)
end
