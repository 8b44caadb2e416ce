-- GET requests rotating over the paths given as arguments (anonymous).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
local common = require("common")

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

local paths, sent = {}, 0

function init(args)
   for i = 1, #args do paths[#paths + 1] = args[i] end
end

function request()
   sent = sent + 1
   return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end

function response(status, headers, body)
   common.count(status)
end

function done(summary, latency, requests)
   common.report(summary, latency, threads)
end
