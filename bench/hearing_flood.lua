-- wrk script for bench/hearing_flood_bench.py: public hearing responses to one plan, each
-- with its own Idempotency-Key ("bench-<n>") and client address (X-Forwarded-For, as
-- behind the municipality's reverse proxy), until each thread has had its share answered.
--   wrk -t T -c C -d MAX --timeout 30s -s bench/hearing_flood.lua URL -- TOTAL T ADDRESSES
-- A thread whose share is sent leaves its free connections idle (delay()) and stops once
-- its share is answered; wrk itself runs until -d or SIGINT: the bench watches the store
-- and interrupts it when all are recorded.
-- done() prints one line of JSON: counts by status and the latency percentiles.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   total = tonumber(args[1])
   nthreads = tonumber(args[2])
   addresses = tonumber(args[3])
   share = math.floor(total / nthreads)
   if id < total % nthreads then
      share = share + 1
   end
   sent, answered, created, duplicates, refused = 0, 0, 0, 0, 0
   busy, unavailable, fillers = 0, 0, 0
   first_refusal = ""
end

local function response_request(n)
   local a = n % addresses
   local body = string.format(
      '{"name": "Innbygger %d", "text": "Uttalelse %d: flere utleieboliger."}', n, n)
   return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "bench-" .. n,
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
         math.floor(a / 65536), math.floor(a / 256) % 256, a % 256),
   }, body)
end

function request()
   if sent < share then
      sent = sent + 1
      return response_request(id + (sent - 1) * nthreads)
   end
   -- Only after the long delay below, which the thread does not live to see (or a
   -- connection opened late): a GET of /healthz, counted apart as a filler.
   return wrk.format("GET", "/healthz")
end

function delay()
   -- Share sent: a free connection waits instead of sending anything, so that wrk's
   -- latency percentiles are the responses' own.
   if sent >= share then
      return 600000
   end
   return 0
end

function response(status, headers, body)
   answered = answered + 1
   if status == 200 then
      fillers = fillers + 1
      return
   end
   if status == 201 then
      if body:find('"duplicate":true', 1, true) then
         duplicates = duplicates + 1
      else
         created = created + 1
      end
   else
      refused = refused + 1
      if first_refusal == "" then
         first_refusal = string.format("%d %s", status, body:sub(1, 200))
      end
      if status == 429 then
         busy = busy + 1
      elseif status == 503 then
         unavailable = unavailable + 1
      end
   end
   if created + refused >= share then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local c, d, r, b, u, f = 0, 0, 0, 0, 0, 0
   local example = ""
   for _, thread in ipairs(threads) do
      c = c + thread:get("created")
      d = d + thread:get("duplicates")
      r = r + thread:get("refused")
      b = b + thread:get("busy")
      u = u + thread:get("unavailable")
      f = f + thread:get("fillers")
      if example == "" then
         example = thread:get("first_refusal")
      end
   end
   io.write(string.format(
      '\nFLOOD {"requests": %d, "seconds": %.3f, "created": %d, "duplicates": %d, ' ..
      '"refused": %d, "status_429": %d, "status_503": %d, "fillers": %d, "socket_errors": %d, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
      '"p99_ms": %.2f, "max_ms": %.2f}\n',
      summary.requests, summary.duration / 1e6, c, d, r, b, u, f,
      summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000))
   if example ~= "" then
      io.write("REFUSED " .. example:gsub("\n", " ") .. "\n")
   end
end
