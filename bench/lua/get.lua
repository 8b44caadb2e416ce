-- GET requests rotating over the paths given as arguments, anonymous; an argument "A:<file>" instead
-- sends `Authorization: Bearer <the file's first line>` with every request (a file, so that no token
-- shows in the command line the results record).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
local common = require("common")

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

local paths, headers, sent = {}, {}, 0

function init(args)
   for i = 1, #args do
      local file = string.match(args[i], "^A:(.+)$")
      if file then
         headers["Authorization"] = "Bearer " .. io.lines(file)()
      else
         paths[#paths + 1] = args[i]
      end
   end
end

function request()
   sent = sent + 1
   return wrk.format("GET", paths[(sent - 1) % #paths + 1], headers)
end

function response(status, headers, body)
   common.count(status)
end

function done(summary, latency, requests)
   common.report(summary, latency, threads)
end
