-- Statistics --------------------------------------------------------------------
--
-- Counters written by the same call as the state change they count (no
-- change without its counters), so GET /v1/stats and /metrics read
-- counters only, never listings or matches. Each counter lives in a cell:
-- a hash whose name holds the cell's dimensions, joined by '|' (codes and
-- ids never hold one; '' for no forum), and a set indexes the cells:
--
--   cm:stats:l  cells "kind|province|material|forum|month" of listings
--               posted: n (count), q (base units, as they stand: a PATCH
--               of the quantity moves it), in cm:stats:l:<cell>
--   cm:stats:d:<listing cell>  seconds from posting to the first proposal
--               → how many listings of the cell waited that long (the
--               exact median; at most one field per distinct delay)
--   cm:stats:m  cells "need province|offer province|material|forum|month"
--               of matches, in cm:stats:m:<cell>: p_n, p_q (proposed),
--               c_n, c_q, c_v, c_f (confirmed: count, base units, goods
--               VND, freight VND), f_n, f_q, f_v (fulfilled: count,
--               delivered base units, their goods VND)
--   cm:stats:acct:<account>:l and :m  the same cells of the listings the
--               account posted and the matches it is a party to, without
--               the proposed counters and the delays (parties see a match
--               from approval on)
--
-- A listing's hash gets first_proposed_at (ms) from its first proposal
-- (stats_first), so the next is not counted as a first.
--
-- month: the UTC month (YYYY-MM) of the event counted (a listing's posting
-- for n, q and its delay; a match's proposal, confirmation, fulfilment).
-- A match's forum: its need's forum, else its offer's. Counts and base
-- units are Redis integers (HINCRBY); VND sums go on as decimal text past
-- 2^63 (stats_incr).

-- 'YYYY-MM' of a time in ms since the epoch, UTC (civil from days; no
-- os.date here). Remembered by day (a cache of at most a few hundred
-- entries in the library's Lua state: the same answer, computed once a day).
local STATS_MONTH_OF_DAY, stats_month_days = {}, 0
local function stats_month(ms)
  local day = math.floor(tonumber(ms) / 86400000)
  local known = STATS_MONTH_OF_DAY[day]
  if known then return known end
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) -
    math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  known = string.format('%04d-%02d', y, m)
  if stats_month_days >= 400 then STATS_MONTH_OF_DAY, stats_month_days = {}, 0 end
  STATS_MONTH_OF_DAY[day] = known
  stats_month_days = stats_month_days + 1
  return known
end

-- Adds n (a decimal string, never negative) to a VND counter: HINCRBY while
-- it fits 64 bits, then exact decimal text (HINCRBY refuses before it writes).
local function stats_incr(key, field, n)
  local r = redis.pcall('HINCRBY', key, field, n)
  if type(r) == 'table' and r.err then
    redis.call('HSET', key, field, dec_add(redis.call('HGET', key, field) or '0', n))
  end
end

-- Adds 1 to the count field nf of index's cell (indexing a new cell) and
-- q to its quantity field qf.
local function stats_cell_add(index, cell, nf, qf, q)
  local key = index .. ':' .. cell
  if redis.call('HINCRBY', key, nf, '1') == 1 then redis.call('SADD', index, cell) end
  redis.call('HINCRBY', key, qf, q)
  return key
end

local function stats_listing_cell(kind, province, material, forum, created_ms)
  return kind .. '|' .. province .. '|' .. material .. '|' .. (forum or '') .. '|' ..
    stats_month(created_ms)
end

-- A listing posted (h as cm_listing_create writes it; now: its created_at).
local function stats_listing_created(h, now)
  local cell = stats_listing_cell(h.kind, h.province, h.material, h.forum, now)
  stats_cell_add('cm:stats:l', cell, 'n', 'q', h.quantity)
  stats_cell_add('cm:stats:acct:' .. h.owner .. ':l', cell, 'n', 'q', h.quantity)
end

-- A listing's quantity changes from h.quantity to q (h loaded whole).
local function stats_listing_resized(h, q)
  local d = tonumber(q) - tonumber(h.quantity)
  if d == 0 then return end
  local cell = stats_listing_cell(h.kind, h.province, h.material, h.forum, h.created_at)
  redis.call('HINCRBY', 'cm:stats:l:' .. cell, 'q', d)
  redis.call('HINCRBY', 'cm:stats:acct:' .. h.owner .. ':l:' .. cell, 'q', d)
end

local function stats_forum(need_forum, offer_forum)
  if need_forum and need_forum ~= '' then return need_forum end
  return offer_forum or ''
end

local function stats_match_cell(m, now)
  return m.need_province .. '|' .. m.offer_province .. '|' .. m.material .. '|' ..
    stats_forum(m.need_forum, m.offer_forum) .. '|' .. stats_month(now)
end

-- The match cells of m's parties (one when both sides are one account).
local function stats_party_indexes(m)
  local t = { 'cm:stats:acct:' .. m.need_owner .. ':m' }
  if m.offer_owner ~= m.need_owner then t[2] = 'cm:stats:acct:' .. m.offer_owner .. ':m' end
  return t
end

-- A proposal of listing row r (an HMGET of LISTING_CHECK: province 5,
-- forum 6, kind 7, material 8, created_at 10, first_proposed_at 11): when
-- it is the listing's first, its delay is counted and r marked, and the
-- fields the listing's hash takes come back ({} when not a first), for the
-- caller's own HSET of the listing.
local NO_FIELDS = {}
local function stats_first(r, now)
  if r[11] or not r[10] then return NO_FIELDS end
  r[11] = now
  local cell = stats_listing_cell(r[7], r[5], r[8], r[6], r[10])
  local secs = math.floor((tonumber(now) - tonumber(r[10])) / 1000)
  redis.call('HINCRBY', 'cm:stats:d:' .. cell, string.format('%.0f', secs < 0 and 0 or secs), '1')
  return { 'first_proposed_at', now }
end

-- A match proposed (m as match_propose writes it; n, o: its listings' rows,
-- whose first proposal match_propose may have marked already).
local function stats_proposed(m, now, nid, n, oid, o)
  stats_cell_add('cm:stats:m', stats_match_cell(m, now), 'p_n', 'p_q', m.quantity)
  local f = stats_first(n, now)
  if f[1] then redis.call('HSET', 'cm:listing:' .. nid, unpack(f)) end
  f = stats_first(o, now)
  if f[1] then redis.call('HSET', 'cm:listing:' .. oid, unpack(f)) end
end

-- The goods and freight VND of a match, from its explanation (text: exact
-- digits, never through a Lua number).
local function stats_match_vnd(doc)
  doc = doc or ''
  local goods = string.match(doc, '"goods_total_vnd":%s*(%d+)')
  local freight = string.match(doc, '"freight":%s*{[^}]*"total_vnd":%s*(%d+)')
  return dec_arg(goods), dec_arg(freight)
end

-- A match m (loaded whole) confirmed now.
local function stats_confirmed(m, now)
  local goods, freight = stats_match_vnd(m.doc)
  local cell = stats_match_cell(m, now)
  local idx = stats_party_indexes(m)
  idx[#idx + 1] = 'cm:stats:m'
  for _, index in ipairs(idx) do
    local key = stats_cell_add(index, cell, 'c_n', 'c_q', m.quantity)
    stats_incr(key, 'c_v', goods)
    stats_incr(key, 'c_f', freight)
  end
end

-- a (decimal text) × b (an integer below 10^14), exact.
local function stats_dec_mul(a, b)
  local out, carry = {}, 0
  for i = #a, 1, -1 do
    local d = (string.byte(a, i) - 48) * b + carry
    out[#out + 1] = string.char(48 + d % 10)
    carry = math.floor(d / 10)
  end
  while carry > 0 do
    out[#out + 1] = string.char(48 + carry % 10)
    carry = math.floor(carry / 10)
  end
  return dec_arg(string.reverse(table.concat(out)))
end

-- a (decimal text) / b (an integer from 1 to 10^14), rounded half up, exact.
local function stats_dec_div_round(a, b)
  local out, rem = {}, 0
  for i = 1, #a do
    rem = rem * 10 + (string.byte(a, i) - 48)
    local q = math.floor(rem / b)
    out[#out + 1] = string.char(48 + q)
    rem = rem - q * b
  end
  local r = dec_arg(table.concat(out))
  if rem * 2 >= b then r = dec_add(r, '1') end
  return r
end

-- A match m (loaded whole) fulfilled now with delivered base units (text).
local function stats_fulfilled(m, delivered, now)
  delivered = dec_arg(delivered)
  local goods = stats_match_vnd(m.doc)
  local q, d = tonumber(m.quantity), tonumber(delivered)
  local value = goods
  if d == 0 then value = '0'
  elseif d ~= q and q > 0 then value = stats_dec_div_round(stats_dec_mul(goods, d), q) end
  local cell = stats_match_cell(m, now)
  local idx = stats_party_indexes(m)
  idx[#idx + 1] = 'cm:stats:m'
  for _, index in ipairs(idx) do
    local key = stats_cell_add(index, cell, 'f_n', 'f_q', delivered)
    stats_incr(key, 'f_v', value)
  end
end

-- cm_stats_read: the cells of one scope, for GET /v1/stats and /metrics.
-- KEYS: listing cell index, match cell index
-- ARGV: '1' to read the delays too ('0' not)
-- → { { cell, { field, value, ... } }... } of listings, the same of
--   matches, { { listing cell, { seconds, count, ... } }... } of delays
redis.register_function{
  function_name = 'cm_stats_read',
  callback = function(keys, args)
    local out = {}
    for k = 1, 2 do
      local rows = {}
      for _, cell in ipairs(redis.call('SMEMBERS', keys[k])) do
        rows[#rows + 1] = { cell, redis.call('HGETALL', keys[k] .. ':' .. cell) }
      end
      out[k] = rows
    end
    local delays = {}
    if args[1] == '1' then
      for _, row in ipairs(out[1]) do
        local d = redis.call('HGETALL', 'cm:stats:d:' .. row[1])
        if #d > 0 then delays[#delays + 1] = { row[1], d } end
      end
    end
    out[3] = delays
    return out
  end,
  flags = { 'no-writes' },
}
