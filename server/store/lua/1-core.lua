#!lua name=craftmatch
--[[
craftmatch — the Redis function library: every state change in one place.

Each function is one atomic state change: it checks what it must, writes the
state and its indexes, and appends the event to cm:events in the same call
(DESIGN.md invariants 3 and 4). craftmatchd embeds the library: the files
server/store/lua/*.lua joined in the order of their names, this one first
(its header and the shared helpers; each later file may use what an earlier
one defines). After every connect it asks Redis for the loaded library's
version (cm_version) and loads its own with FUNCTION LOAD REPLACE unless a
newer one is loaded
(server/store/library.h).

Keys: every key a function touches is built from server-made ids passed in
KEYS or derived here from them; user text arrives only in ARGV.

Versions. Every change to the library takes a new LIBRARY_VERSION (one more),
and LIBRARY_HASH becomes the SHA-256 of the joined text without its
LIBRARY_VERSION and LIBRARY_HASH lines:
  cat server/store/lua/*.lua | grep -Ev '^local LIBRARY_(VERSION|HASH) = ' | sha256sum
The unit test test_library holds the hash against the text, so a change
without a new version fails it. LIBRARY_SERVES_FROM is the oldest
LIBRARY_VERSION whose craftmatchd this library still serves unchanged (every
function it calls, with the same keys, arguments and answers): keep it when
a change only adds, set it to the new version when a change breaks older
callers. A craftmatchd never replaces a newer library, and works with one
only when LIBRARY_SERVES_FROM is at most its own version.
--]]

local LIBRARY_VERSION = 23
local LIBRARY_SERVES_FROM = 21
local LIBRARY_HASH = '36b3b357624bd40770ee0166b3afed050d2be4b9c2cb2115a3141e722fb60875'

-- cm_version: { version, serves from, content hash } of the loaded library.
redis.register_function{
  function_name = 'cm_version',
  callback = function(keys, args)
    return { tostring(LIBRARY_VERSION), tostring(LIBRARY_SERVES_FROM), LIBRARY_HASH }
  end,
  flags = { 'no-writes', 'allow-stale' },
}

-- Shared helpers ------------------------------------------------------------

-- The writes cm_as (2-accounts.lua) may run on the strength of a credential
-- it checks in the same call: each is registered as itself too.
local AS_WRITES = {}
local function register_write(name, fn)
  AS_WRITES[name] = fn
  redis.register_function(name, fn)
end

local EVENTS = 'cm:events'
-- Approximate cap on the event stream; craftmatchd passes its configured
-- length to functions that append (ARGV), this is the fallback.
local EVENTS_MAXLEN_DEFAULT = '1000000'

-- Appends one event; fields is a flat list of name, value pairs (strings:
-- a Lua number would be written out through sprintf's %.14g on every call).
local function emit(maxlen, etype, fields)
  return redis.call('XADD', EVENTS, 'MAXLEN', '~', maxlen or EVENTS_MAXLEN_DEFAULT, '*',
    'type', etype, unpack(fields))
end

-- Idempotency. idem_lookup returns nil when the request is new, the first
-- result's id when it is a replay, or an error reply on a reused key;
-- idem_record remembers a request that succeeded (for a day).
local function idem_lookup(key, fingerprint, kind)
  if key == nil then return nil end
  local prev = redis.call('HMGET', key, 'fp', 'id', 'kind')
  if prev[1] then
    if prev[1] ~= fingerprint or prev[3] ~= kind then
      return redis.error_reply('CM_CONFLICT the Idempotency-Key was already used for a different request')
    end
    return prev[2]
  end
  return nil
end

local function idem_record(key, fingerprint, id, kind)
  if key == nil then return end
  redis.call('HSET', key, 'fp', fingerprint, 'id', id, 'kind', kind)
  redis.call('EXPIRE', key, 86400)
end

-- Both at once, for creates that cannot fail after the lookup.
local function idem_check(key, fingerprint, id, kind)
  local prev = idem_lookup(key, fingerprint, kind)
  if prev == nil then idem_record(key, fingerprint, id, kind) end
  return prev
end

-- The sum of two non-negative integers written in decimal, written in
-- decimal: exact at any size (Lua's numbers are doubles, exact to 2^53
-- only, and cjson writes 14 significant digits).
local function dec_add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1] = string.char(48 + d % 10)
    carry = (d >= 10) and 1 or 0
    i, j = i - 1, j - 1
  end
  local r = string.reverse(table.concat(out))
  return r ~= '' and r or '0'
end

-- A decimal integer argument made by the server ('' or junk counts as 0).
local function dec_arg(s)
  if type(s) ~= 'string' or not string.match(s, '^%d+$') then return '0' end
  return (string.gsub(s, '^0+(%d)', '%1'))
end

-- A hash as a Lua table (field → value), or nil when the key is absent.
local function hash_load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

-- Paged scan over the intersection of sorted sets (all scored by seq),
-- newest first. The smallest set drives; the others are checked by
-- ZSCORE. accept(id) returns the row to list or nil. At most budget
-- entries are examined, so one call stays short: the page may then come
-- back partial, with a cursor to go on from.
-- → { next cursor ('' at the end), rows }
local function scan_page(keys, cursor, limit, budget, accept)
  local driver, others = keys[1], {}
  local smallest = redis.call('ZCARD', driver)
  for i = 2, #keys do
    local n = redis.call('ZCARD', keys[i])
    if n < smallest then
      others[#others + 1] = driver
      driver, smallest = keys[i], n
    else
      others[#others + 1] = keys[i]
    end
  end
  local top = cursor == '' and '+inf' or ('(' .. cursor)
  local out, last = {}, ''
  while budget > 0 do
    local batch = redis.call('ZRANGE', driver, top, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 200, 'WITHSCORES')
    if #batch == 0 then return { '', out } end
    for i = 1, #batch, 2 do
      local id, seq = batch[i], batch[i + 1]
      budget = budget - 1
      last = seq
      local ok = true
      for _, k in ipairs(others) do
        if not redis.call('ZSCORE', k, id) then ok = false break end
      end
      local row = ok and accept(id) or nil
      if row then
        out[#out + 1] = row
        if #out >= limit then return { seq, out } end
      end
      if budget <= 0 then return { seq, out } end
    end
    top = '(' .. last
  end
  return { last, out }
end

