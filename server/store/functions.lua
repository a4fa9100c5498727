#!lua name=craftmatch
--[[
craftmatch — the Redis function library: every state change in one place.

Each function is one atomic state change: it checks what it must, writes the
state and its indexes, and appends the event to cm:events in the same call
(DESIGN.md invariants 3 and 4). craftmatchd embeds this file; after every
connect it asks Redis for the loaded library's version (cm_version) and loads
its own with FUNCTION LOAD REPLACE unless a newer one is loaded
(server/store/library.h).

Keys: every key a function touches is built from server-made ids passed in
KEYS or derived here from them; user text arrives only in ARGV.

Versions. Every change to this file takes a new LIBRARY_VERSION (one more),
and LIBRARY_HASH becomes the SHA-256 of the file without its LIBRARY_VERSION
and LIBRARY_HASH lines:
  grep -Ev '^local LIBRARY_(VERSION|HASH) = ' server/store/functions.lua | sha256sum
The unit test test_library holds the hash against the text, so a change
without a new version fails it. LIBRARY_SERVES_FROM is the oldest
LIBRARY_VERSION whose craftmatchd this library still serves unchanged (every
function it calls, with the same keys, arguments and answers): keep it when
a change only adds, set it to the new version when a change breaks older
callers. A craftmatchd never replaces a newer library, and works with one
only when LIBRARY_SERVES_FROM is at most its own version.
--]]

local LIBRARY_VERSION = 10
local LIBRARY_SERVES_FROM = 6
local LIBRARY_HASH = '322f0867cc051618959a14602e86589afa41b9046717a6e4a6acfdf5b0cb6c6e'

-- cm_version: { version, serves from, content hash } of the loaded library.
redis.register_function{
  function_name = 'cm_version',
  callback = function(keys, args)
    return { tostring(LIBRARY_VERSION), tostring(LIBRARY_SERVES_FROM), LIBRARY_HASH }
  end,
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
    return { t[1], t[2], doc }
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

-- Revokes token id (hash and account as stored in cm:tokenid:<id>): both of
-- its keys go, and with them every session and stream ticket made from it
-- (they check the token at each use).
local function token_revoke(id, hash, account, by, maxlen)
  redis.call('DEL', 'cm:token:' .. hash, 'cm:tokenid:' .. id)
  redis.call('SREM', 'cm:account:' .. account .. ':tokens', id)
  emit(maxlen, 'token.revoked', { 'account', account, 'token', id, 'by', by })
end

-- cm_token_revoke
-- KEYS: token id  ARGV: caller account id, caller may revoke any (1/0), events_maxlen
redis.register_function('cm_token_revoke', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'hash', 'account')
  if not t[1] then return redis.error_reply('CM_NOTFOUND no such token') end
  if t[2] ~= args[1] and args[2] ~= '1' then
    return redis.error_reply('CM_NOTFOUND no such token')
  end
  local id = string.sub(keys[1], string.len('cm:tokenid:') + 1)
  token_revoke(id, t[1], t[2], args[1], args[3])
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

-- cm_token_account  KEYS: token id → { account id, account doc } or nil
-- (who a token belongs to, so the caller's authority over that account can
-- be checked before it revokes the token)
redis.register_function{
  function_name = 'cm_token_account',
  callback = function(keys, args)
    local account = redis.call('HGET', keys[1], 'account')
    if not account then return nil end
    local doc = redis.call('HGET', 'cm:account:' .. account, 'doc')
    if not doc then return nil end
    return { account, doc }
  end,
  flags = { 'no-writes' },
}

-- Forums: what listings ask of them ----------------------------------------
--
-- A listing posted with a forum registers for it: the forum must exist and
-- be open. Until the forum closes, the listing is held out of continuous
-- matching: its hash has held = '1' and its engine record in held_eng
-- instead of a cm:eng entry, its events say held = '1' and carry no
-- record, and cm_match_propose refuses it. The forum's listings are the set
-- cm:forum:<id>:listings (ids checked by forum_id_ok in common/forum.c are
-- the only client-chosen text in key names).

-- nil when the forum takes registrations, else an error reply.
local function forum_admits(forum)
  local state = redis.call('HGET', 'cm:forum:' .. forum, 'state')
  if not state then return redis.error_reply('CM_INVALID diễn đàn: no such forum') end
  if state ~= 'open' then
    return redis.error_reply('CM_REFUSED the forum is ' .. state ..
      '; listings register for a forum only while it is open')
  end
  return nil
end

-- Listings ------------------------------------------------------------------
--
-- cm:listing:<id> hash: doc (JSON, never re-encoded here), kind, owner,
-- owner_name, material, province, forum, status, quantity, remaining,
-- version, seq, ends_at, fold, created_at, updated_at; and while it is held
-- for its forum held ('1'), held_eng (its engine record) and after_forum.
-- Indexes (sorted sets scored by posting order seq): cm:listings,
-- cm:listings:kind:<k>, :material:<code>, :province:<code>, :owner:<id>,
-- :status:<s>; cm:expiry scored by end time (ms) for open listings that end.
--
-- cm:eng:<kind>:<material> hash: the open listings for the engine, field
-- the listing id, value "REMAINING VERSION SEQ RECORD" (RECORD: the engine
-- record of common/matching.h). A restarting engine reads a page of these with one HSCAN
-- instead of one read per listing. Every function that opens, changes or
-- ends a listing writes its entry in the same call, so the entry is always
-- exactly the listing's state; only open listings not held for a forum
-- have one.

local function eng_key(kind, material) return 'cm:eng:' .. kind .. ':' .. material end

local function eng_put(kind, material, id, remaining, version, seq, record)
  redis.call('HSET', eng_key(kind, material), id,
    remaining .. ' ' .. version .. ' ' .. seq .. ' ' .. (record or ''))
end

-- A new remaining quantity for an open listing's entry (none: not open).
local function eng_remaining(kind, material, id, remaining)
  local key = eng_key(kind, material)
  local v = redis.call('HGET', key, id)
  if not v then return end
  local rest = string.find(v, ' ', 1, true)
  redis.call('HSET', key, id, remaining .. string.sub(v, rest))
end

local function listing_indexes(h)
  return {
    'cm:listings',
    'cm:listings:kind:' .. h.kind,
    'cm:listings:material:' .. h.material,
    'cm:listings:province:' .. h.province,
    'cm:listings:owner:' .. h.owner,
  }
end


-- Fields whose names start with '_' are for the servers, never pushed to
-- clients: listing.created and listing.updated carry the engine record and
-- the listing's seq, so an engine puts the listing in its index from the
-- event alone, with no read of the hash (and as of the event, in order).
local function listing_event(maxlen, etype, id, h, by, eng)
  local fields = { 'listing', id, 'kind', h.kind, 'owner', h.owner,
    'material', h.material, 'province', h.province, 'forum', h.forum or '',
    'version', h.version, 'status', h.status, 'remaining', h.remaining, 'by', by or '' }
  if h.held == '1' then
    -- held for its forum: engines leave it out (no record to index)
    fields[#fields + 1] = 'held'; fields[#fields + 1] = '1'
  elseif eng and eng ~= '' then
    fields[#fields + 1] = '_eng'; fields[#fields + 1] = eng
    fields[#fields + 1] = '_seq'; fields[#fields + 1] = h.seq
  end
  return emit(maxlen, etype, fields)
end

-- Ends the listing's matches that are not confirmed (defined with the
-- matches below; listing_finish calls it).
local listing_end_matches

-- Moves an open listing to a final status (closed, expired, filled):
-- indexes, expiry, event; then its matches not yet confirmed are cancelled
-- with the reason 'listing_<status>' (their quantity returns to the other
-- side, each with its match.cancelled event). A confirmed match stays until
-- it is fulfilled or cancelled.
local function listing_finish(key, id, h, status, now, maxlen, by)
  redis.call('ZREM', 'cm:listings:status:' .. h.status, id)
  redis.call('ZADD', 'cm:listings:status:' .. status, h.seq, id)
  redis.call('HDEL', eng_key(h.kind, h.material), id)
  redis.call('ZREM', 'cm:expiry', id)
  h.status = status
  h.version = tostring(tonumber(h.version) + 1)
  redis.call('HSET', key, 'status', status, 'version', h.version, 'updated_at', now)
  local ev = listing_event(maxlen, 'listing.' .. status, id, h, by)
  listing_end_matches(id, 'listing_' .. status, by, now, maxlen)
  return ev
end

local LISTING_VIEW = { 'doc', 'status', 'remaining', 'version', 'owner_name', 'created_at',
  'updated_at' }

-- cm_listing_create
-- KEYS: listing, [idempotency]
-- ARGV: id, doc, kind, owner, owner_name, material, province, forum,
--       quantity, ends_at, fold, now_ms, events_maxlen, fingerprint ('' none),
--       engine record (matching.h: what the engine loads instead of doc),
--       after_forum ('market' | 'close'; '' without a forum)
-- → { 'created' | 'replay', id, { values in LISTING_VIEW order } }
redis.register_function('cm_listing_create', function(keys, args)
  local id = args[1]
  local replay = idem_lookup(keys[2], args[14], 'listing')
  if type(replay) == 'table' then return replay end
  if replay then
    return { 'replay', replay, redis.call('HMGET', 'cm:listing:' .. replay, unpack(LISTING_VIEW)) }
  end
  if args[8] ~= '' then
    local refused = forum_admits(args[8])
    if refused then return refused end
  end
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT listing id taken')
  end
  idem_record(keys[2], args[14], id, 'listing')
  local h = { kind = args[3], owner = args[4], material = args[6], province = args[7],
    forum = args[8], status = 'open', quantity = args[9], remaining = args[9],
    version = '1', ends_at = args[10], held = args[8] ~= '' and '1' or nil }
  h.seq = tostring(redis.call('INCR', 'cm:seq:listings'))
  redis.call('HSET', keys[1], 'doc', args[2], 'kind', h.kind, 'owner', h.owner,
    'owner_name', args[5], 'material', h.material, 'province', h.province,
    'forum', h.forum, 'status', 'open', 'quantity', h.quantity, 'remaining', h.remaining,
    'version', '1', 'seq', h.seq, 'ends_at', h.ends_at, 'fold', args[11],
    'created_at', args[12], 'updated_at', args[12])
  for _, k in ipairs(listing_indexes(h)) do redis.call('ZADD', k, h.seq, id) end
  redis.call('ZADD', 'cm:listings:status:open', h.seq, id)
  if h.held then
    redis.call('HSET', keys[1], 'held', '1', 'held_eng', args[15], 'after_forum', args[16])
    redis.call('SADD', 'cm:forum:' .. h.forum .. ':listings', id)
  else
    eng_put(h.kind, h.material, id, h.remaining, h.version, h.seq, args[15])
  end
  if tonumber(h.ends_at) > 0 then redis.call('ZADD', 'cm:expiry', h.ends_at, id) end
  listing_event(args[13], 'listing.created', id, h, h.owner, args[15])
  -- The stored view comes back with the answer: no second round trip.
  return { 'created', id, redis.call('HMGET', keys[1], unpack(LISTING_VIEW)) }
end)

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
-- ARGV: caller, expected version, doc, quantity, ends_at, fold, now_ms, events_maxlen,
--       engine record
-- → { values in LISTING_VIEW order }, as written
redis.register_function('cm_listing_update', function(keys, args)
  local h = hash_load(keys[1])
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
  if h.held == '1' then redis.call('HSET', keys[1], 'held_eng', args[9])
  else eng_put(h.kind, h.material, id, h.remaining, h.version, h.seq, args[9]) end
  if tonumber(args[5]) > 0 then redis.call('ZADD', 'cm:expiry', args[5], id)
  else redis.call('ZREM', 'cm:expiry', id) end
  listing_event(args[8], 'listing.updated', id, h, args[1], args[9])
  -- Down to what was already delivered: nothing is left to trade.
  if q > 0 and tonumber(h.fulfilled or '0') >= q then
    listing_finish(keys[1], id, h, 'filled', args[7], args[8], args[1])
  end
  -- The view as this write left it (an engine may allocate from it at once).
  return redis.call('HMGET', keys[1], unpack(LISTING_VIEW))
end)

-- cm_listing_close
-- KEYS: listing  ARGV: caller, now_ms, events_maxlen
-- → { values in LISTING_VIEW order }, as written
redis.register_function('cm_listing_close', function(keys, args)
  local h = hash_load(keys[1])
  if not h then return redis.error_reply('CM_NOTFOUND no such listing') end
  if h.status ~= 'open' then
    return redis.error_reply('CM_REFUSED the listing is already ' .. h.status)
  end
  local id = string.sub(keys[1], string.len('cm:listing:') + 1)
  listing_finish(keys[1], id, h, 'closed', args[2], args[3], args[1])
  return redis.call('HMGET', keys[1], unpack(LISTING_VIEW))
end)

-- cm_listing_expire: ends open listings whose end time has passed.
-- KEYS: cm:expiry  ARGV: now_ms, batch limit, events_maxlen → number expired
redis.register_function('cm_listing_expire', function(keys, args)
  local due = redis.call('ZRANGE', keys[1], '-inf', args[1], 'BYSCORE', 'LIMIT', 0, tonumber(args[2]))
  local n = 0
  for _, id in ipairs(due) do
    local key = 'cm:listing:' .. id
    local h = hash_load(key)
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
    local needle, forum = args[3], args[4]
    return scan_page(keys, args[1], tonumber(args[2]), tonumber(args[5]), function(id)
      local key = 'cm:listing:' .. id
      if forum ~= '' and redis.call('HGET', key, 'forum') ~= forum then return nil end
      if needle ~= '' and not string.find(redis.call('HGET', key, 'fold') or '', needle, 1, true) then
        return nil
      end
      local v = redis.call('HMGET', key, unpack(LISTING_VIEW))
      if not v[1] then return nil end
      return { id, unpack(v) }
    end)
  end,
  flags = { 'no-writes' },
}

-- Matches -------------------------------------------------------------------
--
-- cm:match:<id> hash: doc (JSON explain, written once), need, offer,
-- need_owner, offer_owner, need_province, offer_province, need_forum,
-- offer_forum, material, quantity, state, version, seq, created_at,
-- updated_at, approved_at, reviewed_by, reason, need_accepted,
-- offer_accepted, delivered, expires_at, by.
-- Indexes (sorted sets by seq): cm:matches, cm:matches:state:<s>,
-- cm:matches:listing:<id>, cm:matches:account:<id>,
-- cm:matches:material:<code>, cm:matches:province:<code>;
-- cm:match_expiry by deadline.
--
-- cm:pairs:failed hash: field "need|offer", value "NEED_VERSION OFFER_VERSION",
-- the two listings' versions when a match of the pair last failed
-- (rejected, declined, cancelled, expired, or fulfilled with nothing
-- delivered: the delivery did not happen). The pair is not proposed again
-- while both listings still have those versions: one side must change its
-- listing first. A pair whose match went through, or is still live, may be
-- proposed again for more. A listing's entries go when it ends.

local MATCH_LIVE = { proposed = true, approved = true, accepted = true }
local MATCH_FAILED = { rejected = true, declined = true, cancelled = true, expired = true }
local PAIRS_FAILED = 'cm:pairs:failed'

-- Fields for the servers only (never pushed): '_need_version' and
-- '_offer_version', the listings' versions as of the event, and '_failed'
-- ('1' when the match failed and its pair was recorded in cm:pairs:failed),
-- which the engine keeps in its index.
-- known (optional): { need remaining, need version, offer remaining, offer
-- version } when the caller has just read or written them.
local function match_event(maxlen, etype, id, m, by, failed, known)
  local n, o
  if known then
    n, o = { known[1], known[2] }, { known[3], known[4] }
  else
    n = redis.call('HMGET', 'cm:listing:' .. m.need, 'remaining', 'version')
    o = redis.call('HMGET', 'cm:listing:' .. m.offer, 'remaining', 'version')
  end
  local need_rem, offer_rem = n[1] or '', o[1] or ''
  return emit(maxlen, etype, { 'match', id, 'need', m.need, 'offer', m.offer,
    'need_owner', m.need_owner, 'offer_owner', m.offer_owner,
    'need_province', m.need_province, 'offer_province', m.offer_province,
    'need_forum', m.need_forum or '', 'offer_forum', m.offer_forum or '',
    'material', m.material, 'quantity', m.quantity, 'state', m.state,
    'approved', (m.approved_at and m.approved_at ~= '') and '1' or '0',
    'version', m.version, 'need_remaining', need_rem, 'offer_remaining', offer_rem,
    'by', by or '', '_need_version', n[2] or '', '_offer_version', o[2] or '',
    '_failed', failed and '1' or '0' })
end

-- A page's writes that can wait for the page's end (see match_propose's
-- ctx): the function is atomic, so no reader sees the difference, and a
-- page of a thousand proposals makes a few thousand Redis calls instead of
-- twenty thousand. rows: listing id -> its HMGET row (remaining kept up to
-- date); rem: listing ids whose remaining is to be written, in first-change
-- order; z: sorted set key -> { score, member, ... } to add, keys in zkeys
-- in first-use order; seq: the last match seq handed out (nil: not read).
local function batch_ctx()
  return { rows = {}, rem = {}, remset = {}, z = {}, zkeys = {} }
end

local function ctx_zadd(ctx, key, score, member)
  local t = ctx.z[key]
  if not t then
    t = {}
    ctx.z[key] = t
    ctx.zkeys[#ctx.zkeys + 1] = key
  end
  t[#t + 1] = score
  t[#t + 1] = member
end

-- Pairs per ZADD: Lua 5.1's unpack takes at most ~8,000 values.
local ZADD_CHUNK = 500

-- Writes what ctx kept back: remaining quantities, index entries, the seq.
local function ctx_flush(ctx)
  for _, lid in ipairs(ctx.rem) do
    redis.call('HSET', 'cm:listing:' .. lid, 'remaining', ctx.rows[lid][3])
  end
  for _, key in ipairs(ctx.zkeys) do
    local t = ctx.z[key]
    for from = 1, #t, 2 * ZADD_CHUNK do
      local to = math.min(#t, from + 2 * ZADD_CHUNK - 1)
      redis.call('ZADD', key, unpack(t, from, to))
    end
  end
  if ctx.seq then redis.call('SET', 'cm:seq:matches', string.format('%.0f', ctx.seq)) end
  ctx.rem, ctx.remset, ctx.z, ctx.zkeys = {}, {}, {}, {}
end

local LISTING_CHECK = { 'status', 'version', 'remaining', 'owner', 'province', 'forum', 'kind',
  'material', 'held' }

-- match_propose: the proposal at args[i..i+6]. batch ('' none) is the forum
-- whose clearing proposes it: then both listings must be held for that
-- forum (and the match records the batch); otherwise neither may be held.
-- ctx (optional, batch_ctx()): reads of the listings are kept for the
-- proposals after, and the writes no check reads back (remaining, index
-- entries, the match seq) wait for ctx_flush, which the caller runs before
-- it returns. Without ctx every write is made at once.
-- → { 'ok', need remaining, offer remaining } or { reason refused }
local function match_propose(now, maxlen, expires, args, i, batch, ctx)
  local mid, nid, oid, q = args[i], args[i + 1], args[i + 2], tonumber(args[i + 3])
  local nkey, okey = 'cm:listing:' .. nid, 'cm:listing:' .. oid
  local n, o
  if ctx then
    n, o = ctx.rows[nid], ctx.rows[oid]
    if not n then
      n = redis.call('HMGET', nkey, unpack(LISTING_CHECK))
      ctx.rows[nid] = n
    end
    if not o then
      o = redis.call('HMGET', okey, unpack(LISTING_CHECK))
      ctx.rows[oid] = o
    end
  else
    n = redis.call('HMGET', nkey, unpack(LISTING_CHECK))
    o = redis.call('HMGET', okey, unpack(LISTING_CHECK))
  end
  local pair = nid .. '|' .. oid
  local why = nil
  local failed = nil
  if not n[1] or not o[1] or n[7] ~= 'need' or o[7] ~= 'offer' then why = 'listing missing'
  elseif n[1] ~= 'open' or o[1] ~= 'open' then why = 'listing not open'
  elseif batch == '' and (n[9] == '1' or o[9] == '1') then why = 'listing held for its forum'
  elseif batch ~= '' and (n[9] ~= '1' or o[9] ~= '1' or n[6] ~= batch or o[6] ~= batch) then
    why = 'listing no longer held for the forum'
  elseif n[2] ~= args[i + 4] or o[2] ~= args[i + 5] then why = 'listing changed'
  elseif q == nil or q <= 0 then why = 'bad quantity'
  elseif tonumber(n[3]) < q or tonumber(o[3]) < q then why = 'remaining too low'
  else
    failed = redis.call('HGET', PAIRS_FAILED, pair)
    if failed == n[2] .. ' ' .. o[2] then
      why = 'pair failed and neither listing changed since'
    elseif redis.call('EXISTS', 'cm:match:' .. mid) == 1 then why = 'match id taken'
    end
  end
  if why then return { why } end
    local nrem, orem
    if ctx then
      nrem, orem = tonumber(n[3]) - q, tonumber(o[3]) - q
      n[3], o[3] = string.format('%.0f', nrem), string.format('%.0f', orem)
      for _, lid in ipairs({ nid, oid }) do
        if not ctx.remset[lid] then
          ctx.remset[lid] = true
          ctx.rem[#ctx.rem + 1] = lid
        end
      end
    else
      nrem = redis.call('HINCRBY', nkey, 'remaining', -q)
      orem = redis.call('HINCRBY', okey, 'remaining', -q)
    end
    -- a listing held for its forum has no engine entry (a batch's both are)
    if batch == '' then
      eng_remaining(n[7], n[8], nid, nrem)
      eng_remaining(o[7], o[8], oid, orem)
    end
    -- a stale failure (a side changed since)
    if failed then redis.call('HDEL', PAIRS_FAILED, pair) end
    local seq
    if ctx then
      if not ctx.seq then ctx.seq = tonumber(redis.call('GET', 'cm:seq:matches') or '0') end
      ctx.seq = ctx.seq + 1
      seq = ctx.seq
    else
      seq = redis.call('INCR', 'cm:seq:matches')
    end
    local m = { need = nid, offer = oid, need_owner = n[4], offer_owner = o[4],
      need_province = n[5], offer_province = o[5], need_forum = n[6] or '',
      offer_forum = o[6] or '', material = o[8], quantity = tostring(q),
      state = 'proposed', version = '1' }
    local mkey = 'cm:match:' .. mid
    local fields = { 'doc', args[i + 6], 'need', nid, 'offer', oid,
      'need_owner', m.need_owner, 'offer_owner', m.offer_owner,
      'need_province', m.need_province, 'offer_province', m.offer_province,
      'need_forum', m.need_forum, 'offer_forum', m.offer_forum,
      'material', m.material, 'quantity', m.quantity, 'state', 'proposed',
      'version', '1', 'seq', seq, 'created_at', now, 'updated_at', now,
      'expires_at', expires, 'need_accepted', '0', 'offer_accepted', '0' }
    if batch ~= '' then
      fields[#fields + 1] = 'batch'
      fields[#fields + 1] = batch
    end
    redis.call('HSET', mkey, unpack(fields))
    local idx = { 'cm:matches', 'cm:matches:state:proposed',
        'cm:matches:listing:' .. nid, 'cm:matches:listing:' .. oid,
        'cm:matches:account:' .. m.need_owner, 'cm:matches:account:' .. m.offer_owner,
        'cm:matches:material:' .. m.material,
        'cm:matches:province:' .. m.need_province }
    -- both sides of one province: one entry (a second ZADD changes nothing)
    if m.offer_province ~= m.need_province then
      idx[#idx + 1] = 'cm:matches:province:' .. m.offer_province
    end
    for _, k in ipairs(idx) do
      if ctx then ctx_zadd(ctx, k, seq, mid) else redis.call('ZADD', k, seq, mid) end
    end
    if ctx then ctx_zadd(ctx, 'cm:match_expiry', expires, mid)
    else redis.call('ZADD', 'cm:match_expiry', expires, mid) end
    match_event(maxlen, 'match.proposed', mid, m, 'engine', false,
      { tostring(nrem), n[2], tostring(orem), o[2] })
    return { 'ok', nrem, orem }
end

-- cm_match_propose: one or more proposals, each checked and written
-- atomically (invariant 3: remaining never goes below zero).
-- KEYS: none (listing and match keys derive from server-made ids)
-- ARGV: now_ms, events_maxlen, expires_at, then per proposal:
--       match id, need id, offer id, quantity, need version, offer version, doc
-- → per proposal: { 'ok', need remaining, offer remaining } or { reason refused }
redis.register_function('cm_match_propose', function(keys, args)
  local out = {}
  for i = 4, #args, 7 do
    out[#out + 1] = match_propose(args[1], args[2], args[3], args, i, '')
  end
  return out
end)


-- Returns the matched quantity (less what was delivered) to both listings.
local function match_release(m, amount)
  if amount > 0 then
    for _, lid in ipairs({ m.need, m.offer }) do
      local key = 'cm:listing:' .. lid
      local l = redis.call('HMGET', key, 'kind', 'material')
      if l[1] then eng_remaining(l[1], l[2], lid, redis.call('HINCRBY', key, 'remaining', amount)) end
    end
  end
end

-- A fulfilled match adds what was delivered to both listings' 'fulfilled';
-- an open listing whose whole quantity is delivered is filled (a need
-- covered, an offer sold out): it leaves the market with listing.filled.
local function match_delivered(m, delivered, now, maxlen, by)
  for _, lid in ipairs({ m.need, m.offer }) do
    local key = 'cm:listing:' .. lid
    if delivered > 0 and redis.call('EXISTS', key) == 1 then
      local total = redis.call('HINCRBY', key, 'fulfilled', delivered)
      local h = hash_load(key)
      if h.status == 'open' and total >= tonumber(h.quantity) then
        listing_finish(key, lid, h, 'filled', now, maxlen, by)
      end
    end
  end
end

-- Which states each action leaves from, and where it goes.
local MATCH_ACTIONS = {
  approve = { from = { proposed = true }, to = 'approved' },
  reject  = { from = { proposed = true }, to = 'rejected', release = true },
  accept  = { from = { approved = true, accepted = true }, to = 'accepted' },
  decline = { from = { approved = true, accepted = true }, to = 'declined', release = true },
  fulfil  = { from = { confirmed = true }, to = 'fulfilled' },
  cancel  = { from = { proposed = true, approved = true, accepted = true, confirmed = true },
              to = 'cancelled', release = true },
  expire  = { from = { proposed = true, approved = true, accepted = true }, to = 'expired', release = true },
}

-- Why match m may not take action now, as { code, message }, or nil when
-- it may. match_apply asks it first; a batch (cm_forum_review) asks it of
-- every match before it changes any, so a refusal changes nothing.
local function match_refusal(m, action)
  local a = MATCH_ACTIONS[action]
  if not a then return { 'CM_INVALID', 'unknown action' } end
  if not a.from[m.state] then
    return { 'CM_REFUSED', 'cannot ' .. action .. ' a match that is ' .. m.state }
  end
  -- Ending a listing cancels its matches not yet confirmed (listing_finish),
  -- so this holds already; checked again so nothing can confirm a match on a
  -- listing that is no longer open.
  if action == 'approve' or action == 'accept' then
    for _, side in ipairs({ 'need', 'offer' }) do
      local st = redis.call('HGET', 'cm:listing:' .. m[side], 'status')
      if st ~= 'open' then
        return { 'CM_REFUSED', 'cannot ' .. action .. ': the ' .. side .. ' is ' .. (st or 'gone') }
      end
    end
  end
  return nil
end

local function match_apply(key, id, m, action, actor, side, note, now, maxlen, expires)
  local refused = match_refusal(m, action)
  if refused then return redis.error_reply(refused[1] .. ' ' .. refused[2]) end
  local a = MATCH_ACTIONS[action]
  local from, to = m.state, a.to
  local sets = { 'updated_at', now }
  if action == 'approve' then
    m.approved_at = now
    sets[#sets + 1] = 'approved_at'; sets[#sets + 1] = now
    sets[#sets + 1] = 'reviewed_by'; sets[#sets + 1] = actor
    sets[#sets + 1] = 'expires_at'; sets[#sets + 1] = expires
    redis.call('ZADD', 'cm:match_expiry', expires, id)
  elseif action == 'reject' then
    sets[#sets + 1] = 'reviewed_by'; sets[#sets + 1] = actor
  elseif action == 'accept' then
    local field = side .. '_accepted'
    if m[field] == '1' then
      return redis.error_reply('CM_REFUSED you have already accepted this match')
    end
    m[field] = '1'
    sets[#sets + 1] = field; sets[#sets + 1] = '1'
    if m.need_accepted == '1' and m.offer_accepted == '1' then
      to = 'confirmed'
      sets[#sets + 1] = 'confirmed_at'; sets[#sets + 1] = now
      redis.call('ZREM', 'cm:match_expiry', id)
    end
  elseif action == 'fulfil' then
    local delivered = tonumber(note)
    if delivered == nil or delivered < 0 or delivered > tonumber(m.quantity) then
      return redis.error_reply('CM_INVALID delivered quantity must be from 0 to ' .. m.quantity)
    end
    sets[#sets + 1] = 'delivered'; sets[#sets + 1] = note
    sets[#sets + 1] = 'fulfilled_at'; sets[#sets + 1] = now
    -- What was not delivered goes back to both listings.
    match_release(m, tonumber(m.quantity) - delivered)
  end
  if note and note ~= '' and action ~= 'fulfil' then
    sets[#sets + 1] = 'reason'; sets[#sets + 1] = note
  end
  if a.release then
    match_release(m, tonumber(m.quantity))
    redis.call('ZREM', 'cm:match_expiry', id)
  end
  m.state = to
  m.version = tostring(tonumber(m.version) + 1)
  sets[#sets + 1] = 'state'; sets[#sets + 1] = to
  sets[#sets + 1] = 'version'; sets[#sets + 1] = m.version
  sets[#sets + 1] = 'by'; sets[#sets + 1] = actor
  redis.call('HSET', key, unpack(sets))
  if from ~= to then
    redis.call('ZREM', 'cm:matches:state:' .. from, id)
    redis.call('ZADD', 'cm:matches:state:' .. to, m.seq, id)
  end
  -- A failed pair of two open listings is recorded (one that ended is
  -- never proposed again anyway, and its entries went with it).
  local failed = MATCH_FAILED[to] or (action == 'fulfil' and tonumber(note) == 0)
  if failed then
    local n = redis.call('HMGET', 'cm:listing:' .. m.need, 'status', 'version')
    local o = redis.call('HMGET', 'cm:listing:' .. m.offer, 'status', 'version')
    failed = n[1] == 'open' and o[1] == 'open'
    if failed then
      redis.call('HSET', PAIRS_FAILED, m.need .. '|' .. m.offer, n[2] .. ' ' .. o[2])
    end
  end
  match_event(maxlen, 'match.' .. (to == 'confirmed' and 'confirmed' or a.to), id, m, actor,
    failed)
  if action == 'fulfil' then
    match_delivered(m, tonumber(note), now, maxlen, actor)
  end
  return { to, m.version }
end

-- listing_finish's second half: every match of listing id not yet confirmed
-- is cancelled (reason 'listing_closed' or 'listing_expired', by whoever
-- ended the listing; a filled listing has none left), and the listing's
-- failed-pair entries go (it is never proposed again). Confirmed matches
-- stay.
listing_end_matches = function(id, reason, by, now, maxlen)
  for _, mid in ipairs(redis.call('ZRANGE', 'cm:matches:listing:' .. id, 0, -1)) do
    local key = 'cm:match:' .. mid
    local m = hash_load(key)
    if m then
      if MATCH_LIVE[m.state] then
        match_apply(key, mid, m, 'cancel', by, '', reason, now, maxlen, '')
      end
      redis.call('HDEL', PAIRS_FAILED, m.need .. '|' .. m.offer)
    end
  end
end

-- cm_match_act: one lifecycle step, checked against the state it leaves.
-- KEYS: match, [idempotency]
-- ARGV: action, actor account id, side ('need'|'offer'|'' for moderators),
--       note (reason, or delivered quantity for fulfil), now_ms,
--       events_maxlen, new deadline (approve), expected version ('' any),
--       [fingerprint]
-- → { new state, version }
redis.register_function('cm_match_act', function(keys, args)
  local m = hash_load(keys[1])
  if not m then return redis.error_reply('CM_NOTFOUND no such match') end
  -- KEYS[2], ARGV[9]: the caller's Idempotency-Key and request fingerprint.
  local kind = 'match:' .. keys[1]
  local replay = idem_lookup(keys[2], args[9], kind)
  if type(replay) == 'table' then return replay end
  if replay then return { m.state, m.version } end
  if args[8] ~= '' and args[8] ~= m.version then
    return redis.error_reply('CM_CONFLICT the match changed meanwhile (now version ' .. m.version .. ')')
  end
  local id = string.sub(keys[1], string.len('cm:match:') + 1)
  -- match_apply checks everything before it writes: a refusal changes nothing.
  local out = match_apply(keys[1], id, m, args[1], args[2], args[3], args[4], args[5], args[6], args[7])
  if type(out) == 'table' and not out.err then idem_record(keys[2], args[9], id, kind) end
  return out
end)

-- cm_match_expire: ends live matches whose deadline has passed.
-- KEYS: cm:match_expiry  ARGV: now_ms, limit, events_maxlen → number expired
redis.register_function('cm_match_expire', function(keys, args)
  local due = redis.call('ZRANGE', keys[1], '-inf', args[1], 'BYSCORE', 'LIMIT', 0, tonumber(args[2]))
  local n = 0
  for _, id in ipairs(due) do
    local key = 'cm:match:' .. id
    local m = hash_load(key)
    redis.call('ZREM', keys[1], id)
    if m and MATCH_LIVE[m.state] then
      match_apply(key, id, m, 'expire', 'system', '', 'not answered in time', args[1], args[3], '')
      n = n + 1
    end
  end
  return n
end)

local MATCH_VIEW = { 'doc', 'need', 'offer', 'need_owner', 'offer_owner', 'need_province',
  'offer_province', 'need_forum', 'offer_forum', 'material', 'quantity', 'state', 'version',
  'created_at', 'updated_at', 'approved_at', 'reviewed_by', 'reason', 'need_accepted',
  'offer_accepted', 'delivered', 'expires_at', 'by' }

-- cm_match_get  KEYS: match → values in MATCH_VIEW order, or nil
redis.register_function{
  function_name = 'cm_match_get',
  callback = function(keys, args)
    local v = redis.call('HMGET', keys[1], unpack(MATCH_VIEW))
    if not v[1] then return nil end
    return v
  end,
  flags = { 'no-writes' },
}

local function csv_set(s)
  local t = {}
  for item in string.gmatch(s or '', '[^,]+') do t[item] = true end
  return t
end

-- cm_match_search: one page of matches the caller may see.
-- KEYS: index sets to intersect (at least one)
-- ARGV: cursor ('' first page), limit, mode ('all' | 'party' | 'scope'),
--       scope provinces csv, scope forums csv, forum filter ('' none), budget
-- → { next cursor or '', { { id, values in MATCH_VIEW order }... } }
redis.register_function{
  function_name = 'cm_match_search',
  callback = function(keys, args)
    local mode, forum = args[3], args[6]
    local provs, forums = csv_set(args[4]), csv_set(args[5])
    return scan_page(keys, args[1], tonumber(args[2]), tonumber(args[7]), function(id)
      local v = redis.call('HMGET', 'cm:match:' .. id, unpack(MATCH_VIEW))
      -- v[6..9]: provinces and forums; v[16]: approved_at
      if not v[1] then return nil end
      if forum ~= '' and v[8] ~= forum and v[9] ~= forum then return nil end
      if mode == 'party' and not v[16] then return nil end
      if mode == 'scope' and not (provs[v[6]] or provs[v[7]] or
          (v[8] and forums[v[8]]) or (v[9] and forums[v[9]])) then return nil end
      return { id, unpack(v) }
    end)
  end,
  flags = { 'no-writes' },
}

-- Engine support --------------------------------------------------------------

-- cm_engine_listing: what the engine needs of one listing.
-- KEYS: listing → { engine record ('' when not open), remaining,
--   version, seq, status ('held' for an open listing held for its forum) } or nil
redis.register_function{
  function_name = 'cm_engine_listing',
  callback = function(keys, args)
    local v = redis.call('HMGET', keys[1], 'kind', 'material', 'remaining', 'version', 'seq',
      'status', 'held')
    if not v[1] then return nil end
    local record = ''
    if v[6] == 'open' and v[7] == '1' then
      v[6] = 'held' -- held for its forum: not for the engine yet
    elseif v[6] == 'open' then
      local id = string.sub(keys[1], string.len('cm:listing:') + 1)
      local e = redis.call('HGET', eng_key(v[1], v[2]), id)
      record = e and string.match(e, '^%S+ %S+ %S+ (.*)$') or ''
    end
    return { record, v[3], v[4], v[5], v[6] }
  end,
  flags = { 'no-writes' },
}

-- cm_engine_cursor_get  KEYS: cursor key → the last feed id fully matched, or nil
redis.register_function{
  function_name = 'cm_engine_cursor_get',
  callback = function(keys, args) return redis.call('GET', keys[1]) end,
  flags = { 'no-writes' },
}

-- cm_engine_cursor  KEYS: cursor key  ARGV: stream id. Only moves forward,
-- so a slower engine never sends the shared cursor back.
redis.register_function('cm_engine_cursor', function(keys, args)
  local cur = redis.call('GET', keys[1])
  local function parse(id)
    local ms, seq = string.match(id or '', '^(%d+)-(%d+)$')
    return tonumber(ms or 0), tonumber(seq or 0)
  end
  local a_ms, a_seq = parse(cur)
  local b_ms, b_seq = parse(args[1])
  if b_ms > a_ms or (b_ms == a_ms and b_seq > a_seq) then
    redis.call('SET', keys[1], args[1])
    return 1
  end
  return 0
end)

-- Event stream readers (push hub) ---------------------------------------------

-- Compares two stream ids ('ms-seq', digits without leading zeros) by their
-- digits, so ids beyond 2^53 compare exactly: -1, 0 or 1.
local function stream_id_cmp(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local function digits_cmp(x, y)
    if #x ~= #y then return #x < #y and -1 or 1 end
    if x == y then return 0 end
    return x < y and -1 or 1
  end
  local c = digits_cmp(am, bm)
  if c ~= 0 then return c end
  return digits_cmp(as, bs)
end

-- XINFO STREAM as a table by field name.
local function stream_info(key)
  local flat = redis.call('XINFO', 'STREAM', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- cm_events_tail: where a reader that starts now begins.
-- KEYS: cm:events → the stream's last generated id, or '0-0' when it does not exist
redis.register_function{
  function_name = 'cm_events_tail',
  callback = function(keys, args)
    if redis.call('EXISTS', keys[1]) == 0 then return '0-0' end
    return stream_info(keys[1])['last-generated-id']
  end,
  flags = { 'no-writes' },
}

-- cm_events_page: one page of the stream after a position, for a subscriber
-- catching up (GET /v1/events with Last-Event-ID). Checked and read in one
-- call, so trimming cannot slip in between the check and the read. Trimming
-- removes the oldest entries, so a position older than the first entry kept
-- (once anything was removed) may have missed entries that are gone.
-- KEYS: cm:events  ARGV: position (exclusive; validated 'ms-seq'), count
-- → { 'ok', { { id, { field, value, ... } }... } }
--   or { 'reset', 'trimmed' }: entries after the position are no longer kept
--   or { 'reset', 'unknown' }: the position is not one of this stream (later
--      than its last id, or the stream is gone)
redis.register_function{
  function_name = 'cm_events_page',
  callback = function(keys, args)
    local after = args[1]
    if redis.call('EXISTS', keys[1]) == 0 then
      if after == '0-0' then return { 'ok', {} } end
      return { 'reset', 'unknown' }
    end
    local info = stream_info(keys[1])
    local last = info['last-generated-id']
    if stream_id_cmp(after, last) > 0 then return { 'reset', 'unknown' } end
    if tonumber(info['entries-added']) > tonumber(info['length']) then
      local first = info['first-entry']
      local oldest = first and first[1] or nil
      if (oldest and stream_id_cmp(after, oldest) < 0) or
          (not oldest and stream_id_cmp(after, last) < 0) then
        return { 'reset', 'trimmed' }
      end
    end
    return { 'ok', redis.call('XRANGE', keys[1], '(' .. after, '+', 'COUNT', tonumber(args[2])) }
  end,
  flags = { 'no-writes' },
}

-- Stream tickets ----------------------------------------------------------------
--
-- cm:ticket:<SHA-256 of the secret> hash: account, token, created_at; it
-- expires by itself. A ticket is a short-lived credential for opening one
-- event stream from a browser (EventSource cannot send headers), not a change
-- to the marketplace: no event is appended for it.

-- cm_ticket_create  KEYS: ticket  ARGV: account id, token id, ttl_ms, now_ms → 1
redis.register_function('cm_ticket_create', function(keys, args)
  if redis.call('EXISTS', 'cm:tokenid:' .. args[2]) == 0 then
    return redis.error_reply('CM_NOTFOUND the token of this request was revoked')
  end
  redis.call('HSET', keys[1], 'account', args[1], 'token', args[2], 'created_at', args[4])
  redis.call('PEXPIRE', keys[1], tonumber(args[3]))
  return 1
end)

-- cm_ticket_consume: uses a ticket up, read and deleted in one step, so it
-- opens one stream at most. KEYS: ticket
-- → { account id, token id, account doc } or nil (unknown, used, expired, or
--   the token it was issued with has been revoked since)
redis.register_function('cm_ticket_consume', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'account', 'token')
  if not t[1] then return nil end
  redis.call('DEL', keys[1])
  if redis.call('EXISTS', 'cm:tokenid:' .. t[2]) == 0 then return nil end
  local doc = redis.call('HGET', 'cm:account:' .. t[1], 'doc')
  if not doc then return nil end
  return { t[1], t[2], doc }
end)

-- Browser sessions ---------------------------------------------------------------
--
-- cm:session:<SHA-256 of the cookie's secret> hash: account, token,
-- created_at; it expires by itself. A session is made from an access code
-- (a bearer token) and stays tied to it: it is valid only while that token
-- is, so revoking the token ends the session at once. Like a stream ticket,
-- it is a credential, not a change to the marketplace: making one appends
-- no event (ending one revokes its token, which does).

-- cm_session_create  KEYS: token (by the code's hash), session
-- ARGV: ttl_ms, now_ms → { token id, account id, account doc } or nil (unknown code)
redis.register_function('cm_session_create', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'id', 'account')
  if not t[1] then return nil end
  local doc = redis.call('HGET', 'cm:account:' .. t[2], 'doc')
  if not doc then return nil end
  redis.call('HSET', keys[2], 'account', t[2], 'token', t[1], 'created_at', args[2])
  redis.call('PEXPIRE', keys[2], tonumber(args[1]))
  return { t[1], t[2], doc }
end)

-- cm_session_auth  KEYS: session
-- → { token id, account id, account doc } or nil (unknown,
--   expired, or its token revoked)
redis.register_function{
  function_name = 'cm_session_auth',
  callback = function(keys, args)
    local t = redis.call('HMGET', keys[1], 'token', 'account')
    if not t[1] then return nil end
    if redis.call('EXISTS', 'cm:tokenid:' .. t[1]) == 0 then return nil end
    local doc = redis.call('HGET', 'cm:account:' .. t[2], 'doc')
    if not doc then return nil end
    return { t[1], t[2], doc }
  end,
  flags = { 'no-writes' },
}

-- cm_session_end: signing out. The session goes, and the token it was made
-- from is revoked (an access code is handed out for one person's sign-in).
-- KEYS: session  ARGV: events_maxlen → 1, or CM_NOTFOUND when already gone
redis.register_function('cm_session_end', function(keys, args)
  local s = redis.call('HMGET', keys[1], 'token', 'account')
  if not s[1] then return redis.error_reply('CM_NOTFOUND no such session') end
  redis.call('DEL', keys[1])
  local t = redis.call('HMGET', 'cm:tokenid:' .. s[1], 'hash', 'account')
  if t[1] then token_revoke(s[1], t[1], t[2], s[2], args[1]) end
  return 1
end)

-- cm_engine_failed_pairs: a page of cm:pairs:failed, so a restarted engine
-- knows which pairs not to plan until a side changes.
-- KEYS: cm:pairs:failed  ARGV: HSCAN cursor ('0' first), count
-- → { next cursor, { "need|offer", "NEED_VERSION OFFER_VERSION", ... } }
redis.register_function{
  function_name = 'cm_engine_failed_pairs',
  callback = function(keys, args)
    return redis.call('HSCAN', keys[1], args[1], 'COUNT', tonumber(args[2]))
  end,
  flags = { 'no-writes' },
}

-- Forums ------------------------------------------------------------------------
--
-- cm:forum:<id> hash: doc (JSON, never re-encoded here), state, version,
-- organiser, provinces (codes, comma-separated), seq, created_at,
-- updated_at, <state>_at for each state entered. Indexes (sorted sets by
-- seq): cm:forums, cm:forums:state:<s>, cm:forums:province:<code>.
-- cm:forum:<id>:listings: the listings registered for it (see forum_admits).
-- <id> is a slug checked by forum_id_ok (common/forum.c) before any key is
-- built from it.

local function forum_view(key)
  local v = redis.call('HMGET', key, 'doc', 'state', 'version', 'created_at', 'updated_at')
  if not v[1] then return nil end
  v[6] = redis.call('SCARD', key .. ':listings')
  return v
end

local function forum_event(maxlen, etype, id, f, by, extra)
  local fields = { 'forum', id, 'state', f.state, 'organiser', f.organiser,
    'provinces', f.provinces, 'version', f.version, 'by', by or '' }
  for i = 1, #(extra or {}) do fields[#fields + 1] = extra[i] end
  return emit(maxlen, etype, fields)
end

local function forum_set_provinces(id, seq, old, new)
  for code in string.gmatch(old or '', '[^,]+') do
    redis.call('ZREM', 'cm:forums:province:' .. code, id)
  end
  for code in string.gmatch(new, '[^,]+') do
    redis.call('ZADD', 'cm:forums:province:' .. code, seq, id)
  end
end

-- The forum's open listings leave it: each held one joins the continuous
-- market (its engine entry written, listing.updated carrying the record)
-- or, when its after_forum says so, is closed (which cancels its matches
-- not yet confirmed, the clearing's included, as closing any listing
-- does). → joined, closed
local function forum_release(id, now, maxlen, by)
  local joined, closed = 0, 0
  for _, lid in ipairs(redis.call('SMEMBERS', 'cm:forum:' .. id .. ':listings')) do
    local key = 'cm:listing:' .. lid
    -- only the fields this needs (a forum may hold thousands: no HGETALL each)
    local v = redis.call('HMGET', key, 'status', 'held', 'held_eng', 'after_forum', 'kind',
      'owner', 'material', 'province', 'forum', 'version', 'remaining', 'seq')
    local h = { status = v[1], held = v[2], held_eng = v[3], after_forum = v[4], kind = v[5],
      owner = v[6], material = v[7], province = v[8], forum = v[9], version = v[10],
      remaining = v[11], seq = v[12] }
    if h.status == 'open' and h.held == '1' then
      local record = h.held_eng or ''
      redis.call('HDEL', key, 'held', 'held_eng')
      h.held = nil
      if h.after_forum == 'close' then
        listing_finish(key, lid, h, 'closed', now, maxlen, by)
        closed = closed + 1
      else
        h.version = tostring(tonumber(h.version) + 1)
        redis.call('HSET', key, 'version', h.version, 'updated_at', now)
        eng_put(h.kind, h.material, lid, h.remaining, h.version, h.seq, record)
        listing_event(maxlen, 'listing.updated', lid, h, by, record)
        joined = joined + 1
      end
    end
  end
  return joined, closed
end

-- cm:forums:closing: the open forums by the time (ms) their registration
-- closes by itself (the hash's closes_at, from registration_closes).
-- forum_enter keeps it: a forum is in it exactly while it is open.
local FORUMS_CLOSING = 'cm:forums:closing'

-- The forum f (loaded from key) enters state to, with its event (extra:
-- more event fields after 'from').
local function forum_enter(key, id, f, to, now, maxlen, by, extra)
  local from = f.state
  f.state = to
  f.version = tostring(tonumber(f.version) + 1)
  redis.call('HSET', key, 'state', to, 'version', f.version, 'updated_at', now, to .. '_at', now)
  redis.call('ZREM', 'cm:forums:state:' .. from, id)
  redis.call('ZADD', 'cm:forums:state:' .. to, f.seq, id)
  if to == 'open' and f.closes_at then
    redis.call('ZADD', FORUMS_CLOSING, f.closes_at, id)
  elseif from == 'open' then
    redis.call('ZREM', FORUMS_CLOSING, id)
  end
  local fields = { 'from', from }
  for i = 1, #extra do fields[#fields + 1] = extra[i] end
  forum_event(maxlen, 'forum.' .. to, id, f, by, fields)
end

-- cm_forum_create
-- KEYS: forum, [idempotency]
-- ARGV: id, doc, organiser, provinces csv, now_ms, events_maxlen, fingerprint,
--       created_by, [closes_at: ms when registration closes by itself]
-- → { 'created' | 'replay', id, forum view }
redis.register_function('cm_forum_create', function(keys, args)
  local id = args[1]
  local replay = idem_lookup(keys[2], args[7], 'forum')
  if type(replay) == 'table' then return replay end
  if replay then return { 'replay', replay, forum_view('cm:forum:' .. replay) } end
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT a forum with the id ' .. id .. ' exists; choose another')
  end
  idem_record(keys[2], args[7], id, 'forum')
  local f = { state = 'draft', version = '1', organiser = args[3], provinces = args[4] }
  local seq = redis.call('INCR', 'cm:seq:forums')
  redis.call('HSET', keys[1], 'doc', args[2], 'state', f.state, 'version', f.version,
    'organiser', f.organiser, 'provinces', f.provinces, 'seq', seq, 'created_at', args[5],
    'updated_at', args[5], 'draft_at', args[5])
  if args[9] and args[9] ~= '' then redis.call('HSET', keys[1], 'closes_at', args[9]) end
  redis.call('ZADD', 'cm:forums', seq, id)
  redis.call('ZADD', 'cm:forums:state:draft', seq, id)
  forum_set_provinces(id, seq, '', f.provinces)
  forum_event(args[6], 'forum.created', id, f, args[8])
  return { 'created', id, forum_view(keys[1]) }
end)

-- cm_forum_get  KEYS: forum → { doc, state, version, created_at, updated_at,
--   listings registered } or nil
redis.register_function{
  function_name = 'cm_forum_get',
  callback = function(keys, args) return forum_view(keys[1]) end,
  flags = { 'no-writes' },
}

local function forum_in(states_csv, state)
  for s in string.gmatch(states_csv, '[^,]+') do
    if s == state then return true end
  end
  return false
end

-- cm_forum_update (PATCH)
-- KEYS: forum
-- ARGV: caller, expected version ('' any), doc, provinces csv, now_ms,
--       events_maxlen, states in which it may change (csv),
--       [closes_at: ms when registration closes by itself]
-- → forum view, as written
redis.register_function('cm_forum_update', function(keys, args)
  local f = hash_load(keys[1])
  if not f then return redis.error_reply('CM_NOTFOUND no such forum') end
  if not forum_in(args[7], f.state) then
    return redis.error_reply('CM_REFUSED the forum is ' .. f.state .. '; it changes only while ' ..
      string.gsub(args[7], ',', ' or '))
  end
  if args[2] ~= '' and args[2] ~= f.version then
    return redis.error_reply('CM_CONFLICT the forum changed meanwhile (now version ' ..
      f.version .. '); reload and retry')
  end
  local id = string.sub(keys[1], string.len('cm:forum:') + 1)
  forum_set_provinces(id, f.seq, f.provinces, args[4])
  f.provinces = args[4]
  f.version = tostring(tonumber(f.version) + 1)
  redis.call('HSET', keys[1], 'doc', args[3], 'provinces', f.provinces, 'version', f.version,
    'updated_at', args[5])
  if args[8] and args[8] ~= '' then
    redis.call('HSET', keys[1], 'closes_at', args[8])
    if f.state == 'open' then redis.call('ZADD', FORUMS_CLOSING, args[8], id) end
  end
  forum_event(args[6], 'forum.updated', id, f, args[1])
  return forum_view(keys[1])
end)

-- cm_forum_transition: one state change, checked against the state it
-- leaves (common/forum.c holds the table). Entering closed or cancelled
-- releases the forum's listings in the same call (forum_release).
-- KEYS: forum, [idempotency]
-- ARGV: action, states it may leave (csv), state it enters, caller, now_ms,
--       events_maxlen, expected version ('' any), [fingerprint]
-- → forum view, as written (or as it stands, on a replay)
redis.register_function('cm_forum_transition', function(keys, args)
  local f = hash_load(keys[1])
  if not f then return redis.error_reply('CM_NOTFOUND no such forum') end
  local kind = 'forum:' .. keys[1] .. ':' .. args[1]
  local replay = idem_lookup(keys[2], args[8], kind)
  if type(replay) == 'table' then return replay end
  if replay then return forum_view(keys[1]) end
  if args[7] ~= '' and args[7] ~= f.version then
    return redis.error_reply('CM_CONFLICT the forum changed meanwhile (now version ' ..
      f.version .. ')')
  end
  if not forum_in(args[2], f.state) then
    return redis.error_reply('CM_REFUSED cannot ' .. args[1] .. ' a forum that is ' .. f.state)
  end
  local id = string.sub(keys[1], string.len('cm:forum:') + 1)
  local extra = {}
  if args[3] == 'closed' or args[3] == 'cancelled' then
    local joined, closed = forum_release(id, args[5], args[6], args[4])
    extra = { 'joined_market', tostring(joined), 'closed_listings', tostring(closed) }
  end
  forum_enter(keys[1], id, f, args[3], args[5], args[6], args[4], extra)
  idem_record(keys[2], args[8], id, kind)
  return forum_view(keys[1])
end)

-- cm_forum_held: what the clearing needs of the forum's held listings.
-- KEYS: forum → { { id, engine record, remaining, version, seq }... } for
-- each listing registered for it that is open and still held.
redis.register_function{
  function_name = 'cm_forum_held',
  callback = function(keys, args)
    local out = {}
    for _, lid in ipairs(redis.call('SMEMBERS', keys[1] .. ':listings')) do
      local v = redis.call('HMGET', 'cm:listing:' .. lid, 'status', 'held', 'held_eng',
        'remaining', 'version', 'seq')
      if v[1] == 'open' and v[2] == '1' and v[3] then
        out[#out + 1] = { lid, v[3], v[4], v[5], v[6] }
      end
    end
    return out
  end,
  flags = { 'no-writes' },
}

-- cm_forum_in_state: the forums in one state, oldest first (a restarting
-- engine resumes the clearings it finds unfinished).
-- KEYS: cm:forums:state:<s>  ARGV: limit → { id... }
redis.register_function{
  function_name = 'cm_forum_in_state',
  callback = function(keys, args)
    return redis.call('ZRANGE', keys[1], 0, tonumber(args[1]) - 1)
  end,
  flags = { 'no-writes' },
}

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

-- An exact running sum of decimal integers: small terms add up as Lua
-- numbers (exact below 2^53: each term and the part below 10^15), the rest
-- through dec_add, so a page costs a few dec_adds instead of one a term.
local function dec_sum(start) return { dec = start, n = 0 } end

local function dec_sum_add(acc, s)
  if #s <= 15 then
    acc.n = acc.n + tonumber(s)
    if acc.n >= 1e15 then
      acc.dec = dec_add(acc.dec, string.format('%.0f', acc.n))
      acc.n = 0
    end
  else
    acc.dec = dec_add(acc.dec, s)
  end
end

local function dec_sum_text(acc) return dec_add(acc.dec, string.format('%.0f', acc.n)) end

-- clear_page: one page of a clearing's batch (see cm_forum_clear_page).
-- p: run, page, last ('1' | '0'), from (csv), to, proposals start index.
local function clear_page(keys, args, p)
  local f = hash_load(keys[1])
  if not f then return redis.error_reply('CM_NOTFOUND no such forum') end
  local id = string.sub(keys[1], string.len('cm:forum:') + 1)
  local page = tonumber(p.page)
  -- a page of this run already applied (a retry): answered as it stands
  if p.run ~= '' and f.clearing_run == p.run and page <= tonumber(f.clearing_pages or '0') then
    return { 'applied', forum_view(keys[1]), f.clearing or false }
  end
  if not forum_in(p.from, f.state) then
    return redis.error_reply('CM_REFUSED cannot clear a forum that is ' .. f.state)
  end
  if f.clearing_run ~= p.run then
    -- a new run: only from its first page. It takes over an unfinished one
    -- (an engine restarted mid-way): what that run proposed stands and
    -- counts; the rest was solved again from what remains, so the result
    -- is no longer proven optimal as a whole.
    if page ~= 1 then
      return redis.error_reply('CM_REFUSED another clearing run took over this forum')
    end
    if tonumber(f.clearing_pages or '0') > 0 then
      redis.call('HSET', keys[1], 'clearing_resumed', '1')
      f.clearing_resumed = '1'
    end
    redis.call('HSET', keys[1], 'clearing_run', p.run, 'clearing_pages', '0')
    f.clearing_pages = '0'
  elseif page ~= tonumber(f.clearing_pages or '0') + 1 then
    return redis.error_reply('CM_REFUSED page ' .. p.page .. ' out of order (' ..
      (f.clearing_pages or '0') .. ' applied)')
  end
  -- the comparison with first come is the first run's (over every listing)
  if not f.clearing_greedy_q then
    f.clearing_greedy_q, f.clearing_greedy_vnd = dec_arg(args[5]), dec_arg(args[6])
    redis.call('HSET', keys[1], 'clearing_greedy_q', f.clearing_greedy_q,
      'clearing_greedy_vnd', f.clearing_greedy_vnd)
  end
  local matched, landed = dec_sum(f.clearing_matched or '0'), dec_sum(f.clearing_landed or '0')
  local proposed, refused = 0, 0
  local rkey = keys[1] .. ':refused'
  local ctx = batch_ctx()
  for i = p.at, #args, 8 do
    local r = match_propose(args[1], args[2], args[3], args, i, id, ctx)
    if r[1] == 'ok' then
      proposed = proposed + 1
      dec_sum_add(matched, dec_arg(args[i + 3]))
      dec_sum_add(landed, dec_arg(args[i + 7]))
    else
      refused = refused + 1
      redis.call('RPUSH', rkey, '{"match":' .. cjson.encode(args[i]) .. ',"need":' ..
        cjson.encode(args[i + 1]) .. ',"offer":' .. cjson.encode(args[i + 2]) ..
        ',"quantity":' .. dec_arg(args[i + 3]) .. ',"reason":' .. cjson.encode(r[1]) .. '}')
    end
  end
  ctx_flush(ctx)
  matched, landed = dec_sum_text(matched), dec_sum_text(landed)
  f.clearing_pages = tostring(page)
  redis.call('HSET', keys[1], 'clearing_matched', matched, 'clearing_landed', landed,
    'clearing_pages', f.clearing_pages)
  local total = redis.call('HINCRBY', keys[1], 'clearing_proposed', proposed)
  if p.last ~= '1' then return { 'page', tostring(proposed), tostring(refused) } end
  -- The last page: the totals, written digit for digit (no cjson numbers).
  local status = args[4]
  if f.clearing_resumed == '1' and status == 'optimal' then status = 'feasible' end
  local refused_all = redis.call('LRANGE', rkey, 0, -1)
  local text = '{"status":' .. cjson.encode(status) .. ',"proposed":' .. total ..
    ',"matched_quantity":' .. matched .. ',"landed_vnd":' .. landed ..
    ',"refused":[' .. table.concat(refused_all, ',') ..
    '],"greedy":{"matched_quantity":' .. f.clearing_greedy_q .. ',"landed_vnd":' ..
    f.clearing_greedy_vnd .. '},"pages":' .. f.clearing_pages ..
    ',"resumed":' .. (f.clearing_resumed == '1' and 'true' or 'false') .. '}'
  redis.call('DEL', rkey)
  redis.call('HSET', keys[1], 'clearing', text)
  forum_enter(keys[1], id, f, p.to, args[1], args[2], 'system',
    { 'proposed', tostring(total), 'refused', tostring(#refused_all) })
  return { 'done', forum_view(keys[1]), text }
end

-- cm_forum_clear_page: one page of a clearing's batch. A clearing proposes
-- its batch in pages of bounded size (so no one call blocks Redis long),
-- each page one atomic call whose proposals are checked as
-- cm_match_propose checks one (nothing over-allocated), between listings
-- held for this forum; a proposal whose listing was edited or withdrawn
-- since the solve is refused as stale and reported. Pages carry their
-- run's id and number: a page already applied is answered, not applied
-- again; a page out of order is refused; a new run (its page 1) takes
-- over an unfinished one. The totals add up in the forum hash
-- (clearing_* fields, exact decimal strings; refused ones in
-- cm:forum:<id>:refused) and the last page moves the forum, from the
-- states given (clearing), to the state given (review: common/forum.c's
-- forum_cleared) with the clearing's totals as JSON text.
-- KEYS: forum
-- ARGV: now_ms, events_maxlen, expires_at, solver status, greedy quantity,
--       greedy landed VND, run id, page (1, 2, …), last ('1' | '0'),
--       states it may leave (csv), state it enters, then per proposal:
--       match id, need id, offer id, quantity, need version, offer
--       version, doc, landed VND
-- → { 'page', proposed, refused } | { 'done', forum view, totals (JSON) }
--   | { 'applied', forum view, totals or false }
redis.register_function('cm_forum_clear_page', function(keys, args)
  return clear_page(keys, args, { run = args[7], page = args[8], last = args[9],
    from = args[10], to = args[11], at = 12 })
end)

-- cm_forum_clear: the whole batch as one page (craftmatchd before paging).
-- KEYS: forum
-- ARGV: now_ms, events_maxlen, expires_at, solver status, greedy quantity,
--       greedy landed VND, then per proposal as cm_forum_clear_page's
-- → { forum view, clearing totals (JSON) }
redis.register_function('cm_forum_clear', function(keys, args)
  local r = clear_page(keys, args, { run = '', page = '1', last = '1', from = 'clearing',
    to = 'review', at = 7 })
  if r[1] == 'done' then return { r[2], r[3] } end
  return r
end)

-- cm_forum_due: the open forums whose registration has closed by date.
-- KEYS: cm:forums:closing  ARGV: now_ms, limit → forum ids. Each is then
-- taken to clearing with cm_forum_transition (close-registration), as the
-- organiser would: of two processes that race, the second is refused.
redis.register_function{
  function_name = 'cm_forum_due',
  callback = function(keys, args)
    return redis.call('ZRANGE', keys[1], '-inf', args[1], 'BYSCORE', 'LIMIT', 0, tonumber(args[2]))
  end,
  flags = { 'no-writes' },
}

-- The batch of forum id: the matches its clearing proposed (they carry
-- batch = id). cm_forum_clear keeps no list of them: they are found through
-- the match index of the forum's needs (every batch match has its need
-- among the forum's listings). → { { match id, state, seq }... } by seq
local function forum_batch(id)
  local out = {}
  for _, lid in ipairs(redis.call('SMEMBERS', 'cm:forum:' .. id .. ':listings')) do
    if redis.call('HGET', 'cm:listing:' .. lid, 'kind') == 'need' then
      for _, mid in ipairs(redis.call('ZRANGE', 'cm:matches:listing:' .. lid, 0, -1)) do
        local m = redis.call('HMGET', 'cm:match:' .. mid, 'batch', 'state', 'seq')
        if m[1] == id then out[#out + 1] = { mid, m[2], tonumber(m[3]) } end
      end
    end
  end
  table.sort(out, function(a, b) return a[3] < b[3] end)
  return out
end

local function forum_batch_proposed(id)
  local n = 0
  for _, b in ipairs(forum_batch(id)) do
    if b[2] == 'proposed' then n = n + 1 end
  end
  return n
end

-- cm_forum_review: the organiser reviews the clearing's batch as one batch,
-- approving or rejecting the selected matches (none selected: every
-- proposed match of the batch). Each goes through match_apply, as
-- cm_match_act moves one match: the same state change and the same event.
-- Every selected match must be a proposed match of this forum's batch that
-- may take the action (match_refusal), else nothing changes and the
-- offenders come back. Only while the forum is in review.
-- KEYS: forum, [idempotency]
-- ARGV: action ('approve' | 'reject'), caller, reason ('' none), now_ms,
--       events_maxlen, deadline of an approved match, fingerprint ('' none),
--       then the selected match ids (server-checked 'mat_' ids; none: all)
-- → { 'done' | 'replay', { match ids acted on }, proposed left in the batch }
--   or { 'refused', { { match id, why }... } }
redis.register_function('cm_forum_review', function(keys, args)
  local f = hash_load(keys[1])
  if not f then return redis.error_reply('CM_NOTFOUND no such forum') end
  local action = args[1]
  if action ~= 'approve' and action ~= 'reject' then
    return redis.error_reply('CM_INVALID unknown action')
  end
  local id = string.sub(keys[1], string.len('cm:forum:') + 1)
  local kind = 'forum:' .. keys[1] .. ':' .. action .. '-batch'
  local replay = idem_lookup(keys[2], args[7], kind)
  if type(replay) == 'table' then return replay end
  if replay then return { 'replay', cjson.decode(replay), forum_batch_proposed(id) } end
  if f.state ~= 'review' then
    return redis.error_reply('CM_REFUSED the forum is ' .. f.state ..
      '; its batch is reviewed while the forum is in review')
  end
  local selected = {}
  if #args > 7 then
    for i = 8, #args do selected[#selected + 1] = args[i] end
  else
    for _, b in ipairs(forum_batch(id)) do
      if b[2] == 'proposed' then selected[#selected + 1] = b[1] end
    end
    if #selected == 0 then
      return redis.error_reply('CM_REFUSED the batch has no proposed match left to review')
    end
  end
  local todo, refused, seen = {}, {}, {}
  for _, mid in ipairs(selected) do
    local m = hash_load('cm:match:' .. mid)
    local why = nil
    if seen[mid] then why = 'selected twice'
    elseif not m or m.batch ~= id then why = 'not a match of this forum\'s batch'
    elseif m.state ~= 'proposed' then why = m.state .. ', not proposed'
    else
      local r = match_refusal(m, action)
      if r then why = r[2] end
    end
    seen[mid] = true
    if why then refused[#refused + 1] = { mid, why }
    else todo[#todo + 1] = { mid, m } end
  end
  if #refused > 0 then return { 'refused', refused } end
  local done = {}
  for _, t in ipairs(todo) do
    match_apply('cm:match:' .. t[1], t[1], t[2], action, args[2], '', args[3], args[4],
      args[5], args[6])
    done[#done + 1] = t[1]
  end
  idem_record(keys[2], args[7], cjson.encode(done), kind)
  return { 'done', done, forum_batch_proposed(id) }
end)

-- cm_forum_batch: the forum's batch as the organiser reviews it.
-- KEYS: forum  ARGV: limit
-- → { matches in the batch, { { id, values in MATCH_VIEW order, need's
--   owner name, offer's owner name }... } (the first limit, by seq),
--   { state, how many of the batch are in it, ... } }
redis.register_function{
  function_name = 'cm_forum_batch',
  callback = function(keys, args)
    if redis.call('EXISTS', keys[1]) == 0 then return redis.error_reply('CM_NOTFOUND no such forum') end
    local id = string.sub(keys[1], string.len('cm:forum:') + 1)
    local all, rows, counts, flat = forum_batch(id), {}, {}, {}
    for _, b in ipairs(all) do counts[b[2]] = (counts[b[2]] or 0) + 1 end
    for state, n in pairs(counts) do flat[#flat + 1] = state; flat[#flat + 1] = n end
    for i = 1, math.min(#all, tonumber(args[1])) do
      local mid = all[i][1]
      local v = redis.call('HMGET', 'cm:match:' .. mid, unpack(MATCH_VIEW))
      local n = redis.call('HGET', 'cm:listing:' .. (v[2] or ''), 'owner_name') or ''
      local o = redis.call('HGET', 'cm:listing:' .. (v[3] or ''), 'owner_name') or ''
      v[#MATCH_VIEW + 1] = n
      v[#MATCH_VIEW + 2] = o
      rows[#rows + 1] = { mid, unpack(v) }
    end
    return { #all, rows, flat }
  end,
  flags = { 'no-writes' },
}

-- cm_forum_report: what a forum came to.
-- KEYS: forum → JSON text: participants (distinct owners of its listings),
-- needs, offers, the batch of its clearing by material and by the need's
-- province (matched: every match of the batch not failed; confirmed:
-- confirmed or fulfilled; fulfilled; each as base units and landed VND
-- from the match's explanation), and the clearing's totals (null before it).
local REPORT_CONFIRMED = { confirmed = true, fulfilled = true }
local function report_rows(groups)
  local keys, rows = {}, {}
  for k in pairs(groups) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do rows[#rows + 1] = groups[k] end
  return rows
end
local function report_add(groups, field, key, state, q, vnd)
  local g = groups[key]
  if not g then
    g = { matched_base = 0, matched_vnd = 0, confirmed_base = 0, confirmed_vnd = 0,
      fulfilled_base = 0, fulfilled_vnd = 0 }
    g[field] = key
    groups[key] = g
  end
  g.matched_base = g.matched_base + q; g.matched_vnd = g.matched_vnd + vnd
  if REPORT_CONFIRMED[state] then
    g.confirmed_base = g.confirmed_base + q; g.confirmed_vnd = g.confirmed_vnd + vnd
  end
  if state == 'fulfilled' then
    g.fulfilled_base = g.fulfilled_base + q; g.fulfilled_vnd = g.fulfilled_vnd + vnd
  end
end
redis.register_function{
  function_name = 'cm_forum_report',
  callback = function(keys, args)
    local state = redis.call('HGET', keys[1], 'state')
    if not state then return redis.error_reply('CM_NOTFOUND no such forum') end
    local id = string.sub(keys[1], string.len('cm:forum:') + 1)
    local owners, participants, needs, offers = {}, 0, 0, 0
    local by_material, by_province = {}, {}
    for _, lid in ipairs(redis.call('SMEMBERS', keys[1] .. ':listings')) do
      local v = redis.call('HMGET', 'cm:listing:' .. lid, 'owner', 'kind')
      if v[1] and not owners[v[1]] then owners[v[1]] = true; participants = participants + 1 end
      if v[2] == 'need' then
        needs = needs + 1
        for _, mid in ipairs(redis.call('ZRANGE', 'cm:matches:listing:' .. lid, 0, -1)) do
          local m = redis.call('HMGET', 'cm:match:' .. mid, 'batch', 'state', 'quantity',
            'material', 'need_province', 'doc')
          if m[1] == id and not MATCH_FAILED[m[2]] then
            local ok, doc = pcall(cjson.decode, m[6] or '')
            local vnd = ok and type(doc) == 'table' and type(doc.explain) == 'table' and
              type(doc.explain.landed) == 'table' and tonumber(doc.explain.landed.total_vnd) or 0
            local q = tonumber(m[3]) or 0
            report_add(by_material, 'material', m[4], m[2], q, vnd)
            report_add(by_province, 'province', m[5], m[2], q, vnd)
          end
        end
      elseif v[2] == 'offer' then
        offers = offers + 1
      end
    end
    local text = cjson.encode({ forum = id, state = state, participants = participants,
      needs = needs, offers = offers, by_material = report_rows(by_material),
      by_province = report_rows(by_province) })
    text = string.gsub(text, '"by_material":{}', '"by_material":[]')
    text = string.gsub(text, '"by_province":{}', '"by_province":[]')
    return { text, redis.call('HGET', keys[1], 'clearing') }
  end,
  flags = { 'no-writes' },
}

-- cm_forum_search: one page of forums.
-- KEYS: index sets to intersect (at least one)
-- ARGV: cursor ('' first page), limit, drafts shown ('1' | '0'), budget
-- → { next cursor or '', { { id, forum view... }... } }
redis.register_function{
  function_name = 'cm_forum_search',
  callback = function(keys, args)
    local drafts = args[3] == '1'
    return scan_page(keys, args[1], tonumber(args[2]), tonumber(args[4]), function(id)
      local key = 'cm:forum:' .. id
      if not drafts and redis.call('HGET', key, 'state') == 'draft' then return nil end
      local v = forum_view(key)
      if not v then return nil end
      return { id, unpack(v) }
    end)
  end,
  flags = { 'no-writes' },
}
