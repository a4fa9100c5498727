#!lua name=craftmatch
--[[
craftmatch — the Redis function library: every state change in one place.

Each function is one atomic state change: it checks what it must, writes the
state and its indexes, and appends the event to cm:events in the same call
(DESIGN.md invariants 3 and 4). craftmatchd embeds this file and loads it with
FUNCTION LOAD REPLACE at start and after every reconnect.

Keys: every key a function touches is built from server-made ids passed in
KEYS or derived here from them; user text arrives only in ARGV.
--]]

local LIBRARY_VERSION = '1'

-- cm_version: readiness probe; returns the loaded library version.
redis.register_function{
  function_name = 'cm_version',
  callback = function(keys, args) return LIBRARY_VERSION end,
  flags = { 'no-writes', 'allow-stale' },
}

-- Shared helpers ------------------------------------------------------------

local EVENTS = 'cm:events'
-- Approximate cap on the event stream; craftmatchd passes its configured
-- length to functions that append (ARGV), this is the fallback.
local EVENTS_MAXLEN_DEFAULT = '1000000'

-- Appends one event; fields is a flat list of name, value pairs.
local function emit(maxlen, etype, fields)
  local argv = { EVENTS, 'MAXLEN', '~', maxlen or EVENTS_MAXLEN_DEFAULT, '*', 'type', etype }
  for i = 1, #fields do argv[#argv + 1] = fields[i] end
  return redis.call('XADD', unpack(argv))
end

-- Idempotency: returns nil when the request is new (and records it), the
-- first result's id when it is a replay, or raises on a reused key.
local function idem_check(key, fingerprint, id, kind)
  if key == nil then return nil end
  local prev = redis.call('HMGET', key, 'fp', 'id', 'kind')
  if prev[1] then
    if prev[1] ~= fingerprint or prev[3] ~= kind then
      return redis.error_reply('CM_CONFLICT the Idempotency-Key was already used for a different request')
    end
    return prev[2]
  end
  redis.call('HSET', key, 'fp', fingerprint, 'id', id, 'kind', kind)
  redis.call('EXPIRE', key, 86400)
  return nil
end

-- Accounts and tokens -------------------------------------------------------

-- cm_account_create
-- KEYS: account, accounts index, [idempotency]
-- ARGV: id, doc, role, province, scope_provinces, scope_forums, now_ms,
--       created_by, events_maxlen, [fingerprint]
redis.register_function('cm_account_create', function(keys, args)
  local id, doc, role, province = args[1], args[2], args[3], args[4]
  local replay = idem_check(keys[3], args[10], id, 'account')
  if type(replay) == 'table' then return replay end
  if replay then return { 'replay', replay } end
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT account id taken')
  end
  redis.call('HSET', keys[1], 'doc', doc, 'role', role, 'province', province,
    'scope_provinces', args[5], 'scope_forums', args[6], 'created_at', args[7],
    'created_by', args[8])
  redis.call('ZADD', keys[2], redis.call('INCR', 'cm:seq:accounts'), id)
  emit(args[9], 'account.created', { 'account', id, 'role', role, 'province', province,
    'by', args[8] })
  return { 'created', id }
end)

-- cm_account_get  KEYS: account  → doc or nil
redis.register_function{
  function_name = 'cm_account_get',
  callback = function(keys, args)
    return redis.call('HGET', keys[1], 'doc')
  end,
  flags = { 'no-writes' },
}

-- cm_auth  KEYS: token (by secret hash)  → { token id, account id, account doc } or nil
redis.register_function{
  function_name = 'cm_auth',
  callback = function(keys, args)
    local t = redis.call('HMGET', keys[1], 'id', 'account')
    if not t[1] then return nil end
    local doc = redis.call('HGET', 'cm:account:' .. t[2], 'doc')
    if not doc then return nil end
    return { t[1], t[2], doc, keys[1] }
  end,
  flags = { 'no-writes' },
}

-- cm_token_create
-- KEYS: token (by hash), token id, account's token set, account, [idempotency]
-- ARGV: id, account id, hash, name, now_ms, created_by, events_maxlen, [fingerprint]
redis.register_function('cm_token_create', function(keys, args)
  local id, account = args[1], args[2]
  if redis.call('EXISTS', keys[4]) == 0 then
    return redis.error_reply('CM_NOTFOUND no such account')
  end
  local replay = idem_check(keys[5], args[8], id, 'token')
  if type(replay) == 'table' then return replay end
  if replay then
    return redis.error_reply('CM_CONFLICT token ' .. replay ..
      ' was already created with this Idempotency-Key; its secret is shown only once: revoke it and create another')
  end
  redis.call('HSET', keys[1], 'id', id, 'account', account)
  redis.call('HSET', keys[2], 'hash', args[3], 'account', account, 'name', args[4],
    'created_at', args[5], 'created_by', args[6])
  redis.call('SADD', keys[3], id)
  emit(args[7], 'token.created', { 'account', account, 'token', id, 'by', args[6] })
  return { 'created', id }
end)

-- cm_token_revoke
-- KEYS: token id  ARGV: caller account id, caller may revoke any (1/0), events_maxlen
redis.register_function('cm_token_revoke', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'hash', 'account')
  if not t[1] then return redis.error_reply('CM_NOTFOUND no such token') end
  if t[2] ~= args[1] and args[2] ~= '1' then
    return redis.error_reply('CM_NOTFOUND no such token')
  end
  local id = string.sub(keys[1], string.len('cm:tokenid:') + 1)
  redis.call('DEL', 'cm:token:' .. t[1], keys[1])
  redis.call('SREM', 'cm:account:' .. t[2] .. ':tokens', id)
  emit(args[3], 'token.revoked', { 'account', t[2], 'token', id, 'by', args[1] })
  return 1
end)

-- cm_token_list  KEYS: account's token set → flat { id, name, created_at, ... }
redis.register_function{
  function_name = 'cm_token_list',
  callback = function(keys, args)
    local out = {}
    for _, id in ipairs(redis.call('SMEMBERS', keys[1])) do
      local t = redis.call('HMGET', 'cm:tokenid:' .. id, 'name', 'created_at', 'created_by')
      if t[2] then
        out[#out + 1] = id
        out[#out + 1] = t[1] or ''
        out[#out + 1] = t[2]
        out[#out + 1] = t[3] or ''
      end
    end
    return out
  end,
  flags = { 'no-writes' },
}

-- Listings ------------------------------------------------------------------
--
-- cm:listing:<id> hash: doc (JSON, never re-encoded here), kind, owner,
-- owner_name, material, province, forum, status, quantity, remaining,
-- version, seq, ends_at, fold, created_at, updated_at.
-- Indexes (sorted sets scored by posting order seq): cm:listings,
-- cm:listings:kind:<k>, :material:<code>, :province:<code>, :owner:<id>,
-- :status:<s>; cm:open:<kind>:<material> (open listings, for the engine);
-- cm:expiry scored by end time (ms) for open listings that end.

local function listing_indexes(h)
  return {
    'cm:listings',
    'cm:listings:kind:' .. h.kind,
    'cm:listings:material:' .. h.material,
    'cm:listings:province:' .. h.province,
    'cm:listings:owner:' .. h.owner,
  }
end

local function listing_load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local function listing_event(maxlen, etype, id, h, by)
  return emit(maxlen, etype, { 'listing', id, 'kind', h.kind, 'owner', h.owner,
    'material', h.material, 'province', h.province, 'forum', h.forum or '',
    'version', h.version, 'status', h.status, 'remaining', h.remaining, 'by', by or '' })
end

-- Moves an open listing to a final status: indexes, expiry, event.
local function listing_finish(key, id, h, status, now, maxlen, by)
  redis.call('ZREM', 'cm:listings:status:' .. h.status, id)
  redis.call('ZADD', 'cm:listings:status:' .. status, h.seq, id)
  redis.call('ZREM', 'cm:open:' .. h.kind .. ':' .. h.material, id)
  redis.call('ZREM', 'cm:expiry', id)
  h.status = status
  h.version = tostring(tonumber(h.version) + 1)
  redis.call('HSET', key, 'status', status, 'version', h.version, 'updated_at', now)
  return listing_event(maxlen, 'listing.' .. status, id, h, by)
end

-- cm_listing_create
-- KEYS: listing, [idempotency]
-- ARGV: id, doc, kind, owner, owner_name, material, province, forum,
--       quantity, ends_at, fold, now_ms, events_maxlen, [fingerprint]
redis.register_function('cm_listing_create', function(keys, args)
  local id = args[1]
  local replay = idem_check(keys[2], args[14], id, 'listing')
  if type(replay) == 'table' then return replay end
  if replay then return { 'replay', replay } end
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT listing id taken')
  end
  local h = { kind = args[3], owner = args[4], material = args[6], province = args[7],
    forum = args[8], status = 'open', quantity = args[9], remaining = args[9],
    version = '1', ends_at = args[10] }
  h.seq = tostring(redis.call('INCR', 'cm:seq:listings'))
  redis.call('HSET', keys[1], 'doc', args[2], 'kind', h.kind, 'owner', h.owner,
    'owner_name', args[5], 'material', h.material, 'province', h.province,
    'forum', h.forum, 'status', 'open', 'quantity', h.quantity, 'remaining', h.remaining,
    'version', '1', 'seq', h.seq, 'ends_at', h.ends_at, 'fold', args[11],
    'created_at', args[12], 'updated_at', args[12])
  for _, k in ipairs(listing_indexes(h)) do redis.call('ZADD', k, h.seq, id) end
  redis.call('ZADD', 'cm:listings:status:open', h.seq, id)
  redis.call('ZADD', 'cm:open:' .. h.kind .. ':' .. h.material, h.seq, id)
  if tonumber(h.ends_at) > 0 then redis.call('ZADD', 'cm:expiry', h.ends_at, id) end
  listing_event(args[13], 'listing.created', id, h, h.owner)
  return { 'created', id }
end)

local LISTING_VIEW = { 'doc', 'status', 'remaining', 'version', 'owner_name', 'created_at',
  'updated_at' }

-- cm_listing_get  KEYS: listing → { doc, status, remaining, version, owner_name, created_at, updated_at } or nil
redis.register_function{
  function_name = 'cm_listing_get',
  callback = function(keys, args)
    local v = redis.call('HMGET', keys[1], unpack(LISTING_VIEW))
    if not v[1] then return nil end
    return v
  end,
  flags = { 'no-writes' },
}

-- cm_listing_update (PATCH by the owner)
-- KEYS: listing
-- ARGV: caller, expected version, doc, quantity, ends_at, fold, now_ms, events_maxlen
redis.register_function('cm_listing_update', function(keys, args)
  local h = listing_load(keys[1])
  if not h or h.owner ~= args[1] then return redis.error_reply('CM_NOTFOUND no such listing of yours') end
  if h.status ~= 'open' then
    return redis.error_reply('CM_REFUSED the listing is ' .. h.status .. '; only open listings change')
  end
  if h.version ~= args[2] then
    return redis.error_reply('CM_CONFLICT the listing changed meanwhile (now version ' .. h.version .. '); reload and retry')
  end
  local allocated = tonumber(h.quantity) - tonumber(h.remaining)
  local q = tonumber(args[4])
  if q < allocated then
    return redis.error_reply('CM_REFUSED quantity cannot go below the ' .. allocated ..
      ' base units already allocated to matches')
  end
  local id = string.sub(keys[1], string.len('cm:listing:') + 1)
  h.quantity = args[4]
  h.remaining = tostring(q - allocated)
  h.version = tostring(tonumber(h.version) + 1)
  redis.call('HSET', keys[1], 'doc', args[3], 'quantity', h.quantity, 'remaining', h.remaining,
    'version', h.version, 'ends_at', args[5], 'fold', args[6], 'updated_at', args[7])
  if tonumber(args[5]) > 0 then redis.call('ZADD', 'cm:expiry', args[5], id)
  else redis.call('ZREM', 'cm:expiry', id) end
  listing_event(args[8], 'listing.updated', id, h, args[1])
  return { h.version, h.remaining }
end)

-- cm_listing_close
-- KEYS: listing  ARGV: caller, now_ms, events_maxlen
redis.register_function('cm_listing_close', function(keys, args)
  local h = listing_load(keys[1])
  if not h then return redis.error_reply('CM_NOTFOUND no such listing') end
  if h.status ~= 'open' then
    return redis.error_reply('CM_REFUSED the listing is already ' .. h.status)
  end
  local id = string.sub(keys[1], string.len('cm:listing:') + 1)
  listing_finish(keys[1], id, h, 'closed', args[2], args[3], args[1])
  return { h.version }
end)

-- cm_listing_expire: ends open listings whose end time has passed.
-- KEYS: cm:expiry  ARGV: now_ms, batch limit, events_maxlen → number expired
redis.register_function('cm_listing_expire', function(keys, args)
  local due = redis.call('ZRANGE', keys[1], '-inf', args[1], 'BYSCORE', 'LIMIT', 0, tonumber(args[2]))
  local n = 0
  for _, id in ipairs(due) do
    local key = 'cm:listing:' .. id
    local h = listing_load(key)
    if h and h.status == 'open' then
      listing_finish(key, id, h, 'expired', args[1], args[3], 'system')
      n = n + 1
    else
      redis.call('ZREM', keys[1], id)
    end
  end
  return n
end)

-- cm_listing_search: one page of listings matching every filter.
-- KEYS: index sets to intersect (at least one)
-- ARGV: cursor (seq, exclusive; '' for the first page), limit, folded text
--       ('' none), forum ('' none), max entries to examine
-- → { next cursor or '', { id, doc, status, remaining, version, owner_name, created_at, updated_at }... }
redis.register_function{
  function_name = 'cm_listing_search',
  callback = function(keys, args)
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
    local limit, needle, forum = tonumber(args[2]), args[3], args[4]
    local budget = tonumber(args[5])
    local top = args[1] == '' and '+inf' or ('(' .. args[1])
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
        local key = 'cm:listing:' .. id
        if ok and forum ~= '' and redis.call('HGET', key, 'forum') ~= forum then ok = false end
        if ok and needle ~= '' then
          local fold = redis.call('HGET', key, 'fold') or ''
          if not string.find(fold, needle, 1, true) then ok = false end
        end
        if ok then
          local v = redis.call('HMGET', key, unpack(LISTING_VIEW))
          if v[1] then
            out[#out + 1] = { id, unpack(v) }
            if #out >= limit then return { seq, out } end
          end
        end
        if budget <= 0 then return { seq, out } end
      end
      top = '(' .. last
    end
    return { last, out }
  end,
  flags = { 'no-writes' },
}
