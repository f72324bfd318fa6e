-- Replays pre-signed WeCom callbacks for bench/callbacks.py.
--
-- wrk -s bench/wrk_callbacks.lua URL -- <requests file> <once|cycle> <samples file> <sample every>
--
-- Requests file: one callback per line, "<path?query>\t<body>" (the bodies are single-line XML).
-- "once": every callback is sent at most once, because a repeated MsgId is answered from the dedup store
-- and would flatter the figure; when the list runs out the script asks for /bench-exhausted, which answers
-- 404, so an undersized list shows up as errors instead of silently repeating. "cycle" is for the bare
-- ceiling app, which has no dedup.
-- Every <sample every>-th reply body is written to the samples file so the caller can decrypt and check
-- that the answers were real orders, not an empty 200 (the endpoint never answers 500).

local requests = {}
local mode = "once"
local next_index = 0
-- Globals, not locals: done() reads them from each thread with thread:get(), which only sees globals.
used = 0
overrun = 0
empty = 0
local responses = 0
local sample_every = 0
local samples = nil
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   mode = args[2] or "once"
   sample_every = tonumber(args[4] or "0")
   if args[3] and args[3] ~= "" then
      samples = io.open(args[3], "w")
   end
   local headers = { ["Content-Type"] = "application/xml" }
   for line in io.lines(args[1]) do
      local tab = line:find("\t", 1, true)
      -- Formatting once here keeps per-request work in wrk to a table lookup.
      table.insert(requests, wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1)))
   end
end

function request()
   if next_index >= #requests then
      if mode == "cycle" then
         next_index = 0
      else
         overrun = overrun + 1
         return wrk.format("GET", "/bench-exhausted")
      end
   end
   next_index = next_index + 1
   used = used + 1
   return requests[next_index]
end

function response(status, headers, body)
   responses = responses + 1
   if status == 200 and (body == nil or #body == 0) then
      empty = empty + 1
   end
   if samples and sample_every > 0 and responses % sample_every == 0 then
      -- One reply per line: escape the backslash first, then the newlines of the reply template.
      samples:write((body:gsub("\\", "\\\\"):gsub("\n", "\\n")), "\n")
      samples:flush()
   end
end

function done(summary, latency, requests_)
   local t_used, t_overrun, t_empty = 0, 0, 0
   for _, thread in ipairs(threads) do
      t_used = t_used + thread:get("used")
      t_overrun = t_overrun + thread:get("overrun")
      t_empty = t_empty + thread:get("empty")
   end
   -- One machine-readable line for bench/callbacks.py (latency in microseconds).
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d used=%d overrun=%d empty=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
      summary.errors.timeout, t_used, t_overrun, t_empty))
end
