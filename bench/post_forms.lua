-- wrk script: POST varied, realistic landing-page form bodies
-- (application/x-www-form-urlencoded: entryId, email, name, plan,
-- company, consent and utm_* fields, as a page builder's form sends
-- them), count every answer that is not 2xx, and print one summary line
-- that bench/run.sh parses:
--   BENCH requests=N duration_us=N rps=N p50_us=N p99_us=N non2xx=N
--         socket_errors=N
-- A run with non2xx or socket errors is invalid; run.sh says so.
--
--   wrk -t2 -c32 -d10s -s bench/post_forms.lua http://127.0.0.1:PORT/formrelay

local BODIES = 1024 -- distinct bodies per thread, cycled

local first = {"Jane", "John", "Amélie", "Søren", "Priya", "Wei", "Olu",
	"María", "Kenji", "Zoë", "Liam", "Noor", "Mateo", "Aisha", "Björn"}
local last = {"Doe", "Smith", "Dubois", "Kierkegaard", "Patel", "Zhang",
	"Adeyemi", "García", "Tanaka", "O'Brien", "Novak", "Haddad", "Rossi"}
local domains = {"example.com", "gmail.com", "acme.io", "outlook.com",
	"startup.dev", "university.edu", "agency.co.uk"}
local plans = {"starter", "growth", "business", "enterprise"}
local sizes = {"1-10", "11-50", "51-200", "201-1000", "1000+"}
local companies = {"Acme Widgets Ltd", "Globex", "Initech & Sons",
	"Umbrella Corp.", "Stark Industries", "Wayne Enterprises", ""}
local sources = {"google", "facebook", "linkedin", "newsletter", "twitter"}
local mediums = {"cpc", "social", "email", "organic", "display"}
local campaigns = {"spring_launch_2025", "retargeting-q3",
	"webinar+follow-up", "black friday", "brand"}

local function pick(t)
	return t[math.random(#t)]
end

-- RFC 3986 unreserved stay; space as '+'; everything else %XX (the
-- application/x-www-form-urlencoded serialisation of the WHATWG URL
-- standard, what browsers send).
local function enc(s)
	s = s:gsub("[^%w%-%._~ ]", function(c)
		return string.format("%%%02X", string.byte(c))
	end)
	return (s:gsub(" ", "+"))
end

local function form_body(i)
	local fn, ln = pick(first), pick(last)
	local email = (fn .. "." .. ln):lower():gsub("[^%w%.]", "") ..
		tostring(math.random(1, 999)) .. "@" .. pick(domains)
	if math.random(4) == 1 then
		email = " " .. email:upper() .. " " -- normalise trims, lower-cases
	end
	local f = {
		{"entryId", string.format("ent_%08x%08x", math.random(0, 0x7fffffff), i)},
		{"email", email},
		{"name", fn .. " " .. ln},
		{"company", pick(companies)},
		{"plan", pick(plans)},
		{"team_size", pick(sizes)},
		{"utm_source", pick(sources)},
		{"utm_medium", pick(mediums)},
		{"utm_campaign", pick(campaigns)},
		{"_form", "pricing-signup"},
	}
	if math.random(2) == 1 then f[#f + 1] = {"consent", "on"} end
	if math.random(3) == 1 then
		f[#f + 1] = {"phone", string.format("+44 20 7946 %04d", math.random(0, 9999))}
	end
	if math.random(3) == 1 then
		f[#f + 1] = {"message", "Hi, we'd like a demo for " ..
			math.random(2, 40) .. " seats. Thanks!"}
	end
	-- bench/captcha.sh: a widget's token in every body (~700 characters,
	-- as Turnstile's are), unique per body
	local token = os.getenv("BENCH_CAPTCHA_TOKEN")
	if token ~= nil and token ~= "" then
		f[#f + 1] = {"cf-turnstile-response", string.format("%s-%d-%d",
			string.rep(token, math.ceil(700 / #token)), id, i)}
	end
	local parts = {}
	for _, kv in ipairs(f) do
		parts[#parts + 1] = enc(kv[1]) .. "=" .. enc(kv[2])
	end
	return table.concat(parts, "&")
end

local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	threads[#threads + 1] = thread
end

local requests_ = {}
local n = 0
non2xx = 0

function init(args)
	math.randomseed(id * 7919 + os.time())
	local headers = {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Accept"] = "application/json",
		["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		["Referer"] = "https://www.example.com/pricing?utm_source=google",
		["Origin"] = "https://www.example.com",
	}
	for i = 1, BODIES do
		requests_[i] = wrk.format("POST", nil, headers, form_body(i))
	end
end

function request()
	n = n % BODIES + 1
	return requests_[n]
end

function response(status, headers, body)
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
		if non2xx <= 3 then
			io.stderr:write("non-2xx: " .. status .. " " .. tostring(body):sub(1, 200) .. "\n")
		end
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do
		bad = bad + (t:get("non2xx") or 0)
	end
	local e = summary.errors
	local sockerr = e.connect + e.read + e.write + e.timeout
	io.write(string.format(
		"BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
		summary.requests, summary.duration,
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), bad, sockerr))
end
