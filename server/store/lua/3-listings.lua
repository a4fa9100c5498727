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
-- Indexes (sorted sets scored by posting order seq): cm:listings (all),
-- cm:listings:owner:<id> and cm:listings:status:<s>; cm:expiry scored by end
-- time (ms) for open listings that end. The marketplace search (open
-- listings by kind, material, province, forum, text) is answered from each
-- API node's memory (server/search/), filled from the engine entries
-- (eng_put below: they carry what the index keeps), the few open listings
-- without one (held for a forum) read from their hashes
-- (server/store/search_load.c), and kept by the listing events; the per-kind, -material and -province sets earlier versions wrote
-- are no longer written or read (left over, they change nothing; deleting
-- cm:listings:kind:*, :material:*, :province:* frees them).

local function eng_key(kind, material) return 'cm:eng:' .. kind .. ':' .. material end

-- What a search index keeps of an open listing beyond the event's fields
-- (read from the hash when the caller has not got them at hand).
local LISTING_SEARCH = { 'doc', 'fold', 'owner_name', 'created_at', 'updated_at' }

local function listing_search_fields(id, h)
  if not (h.doc and h.fold and h.owner_name and h.created_at and h.updated_at) then
    local v = redis.call('HMGET', 'cm:listing:' .. id, unpack(LISTING_SEARCH))
    h.doc, h.fold, h.owner_name, h.created_at, h.updated_at = v[1], v[2], v[3], v[4], v[5]
  end
end

-- An open listing's entry in cm:eng:<kind>:<material>:
--   "REMAINING VERSION SEQ RECORD\ns1 CREATED UPDATED PL FL NL XL PFNXD"
-- the engine's record (matching.h) on the first line; after it, for the
-- search index of every API node (server/search/), the listing's times and
-- the byte lengths of its province (P), forum (F), owner's name (N) and
-- folded search text (X), those four strings one after the other, then the
-- document (D, the rest). One HSCAN of these hashes fills a restarting
-- node's engine and search index (store/snapshot.c). Entries written by
-- library 19 or older have the first line only (the node then reads the
-- listing's hash instead).
local function eng_put(id, h, record)
  listing_search_fields(id, h)
  local p, f, n, x = h.province or '', h.forum or '', h.owner_name or '', h.fold or ''
  redis.call('HSET', eng_key(h.kind, h.material), id,
    h.remaining .. ' ' .. h.version .. ' ' .. h.seq .. ' ' .. (record or '') .. '\ns1 ' ..
    (h.created_at or '0') .. ' ' .. (h.updated_at or '0') ..
    string.format(' %d %d %d %d ', #p, #f, #n, #x) .. p .. f .. n .. x .. (h.doc or ''))
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
  return { 'cm:listings', 'cm:listings:owner:' .. h.owner }
end


-- Fields whose names start with '_' are for the servers, never pushed to
-- clients: listing.created and listing.updated carry the engine record and
-- the listing's seq, so an engine puts the listing in its index from the
-- event alone, with no read of the hash (and as of the event, in order);
-- and, for the search index of every API node (server/search/), the
-- document (_doc), its folded search text (_fold), the owner's name
-- (_name), created_at (_created) and updated_at (_at).
local function listing_event(maxlen, etype, id, h, by, eng)
  local fields = { 'listing', id, 'kind', h.kind, 'owner', h.owner,
    'material', h.material, 'province', h.province, 'forum', h.forum or '',
    'version', h.version, 'status', h.status, 'remaining', h.remaining, 'by', by or '' }
  if h.held == '1' then
    -- held for its forum: engines leave it out (no record to index)
    fields[#fields + 1] = 'held'; fields[#fields + 1] = '1'
  elseif eng and eng ~= '' then
    fields[#fields + 1] = '_eng'; fields[#fields + 1] = eng
  end
  if h.status == 'open' then
    listing_search_fields(id, h)
    local k = #fields
    fields[k + 1], fields[k + 2], fields[k + 3], fields[k + 4] = '_seq', h.seq, '_doc', h.doc or ''
    fields[k + 5], fields[k + 6], fields[k + 7], fields[k + 8] = '_fold', h.fold or '', '_name', h.owner_name or ''
    fields[k + 9], fields[k + 10], fields[k + 11], fields[k + 12] = '_created', h.created_at or '0', '_at', h.updated_at or '0'
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
local function listing_finish(key, id, h, status, now, maxlen, by, reason)
  redis.call('ZREM', 'cm:listings:status:' .. h.status, id)
  redis.call('ZADD', 'cm:listings:status:' .. status, h.seq, id)
  redis.call('HDEL', eng_key(h.kind, h.material), id)
  redis.call('ZREM', 'cm:expiry', id)
  h.status = status
  h.version = tostring(tonumber(h.version) + 1)
  redis.call('HSET', key, 'status', status, 'version', h.version, 'updated_at', now)
  h.updated_at = now
  local ev = listing_event(maxlen, 'listing.' .. status, id, h, by)
  listing_end_matches(id, reason or ('listing_' .. status), by, now, maxlen)
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
-- → { 'created' | 'replay', id, { values in LISTING_VIEW order }, event id ('' for a replay) };
--   a created row's doc is '' (the caller's own document), a replay's the stored one
register_write('cm_listing_create', function(keys, args)
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
    version = '1', ends_at = args[10], held = args[8] ~= '' and '1' or nil,
    doc = args[2], fold = args[11], owner_name = args[5], created_at = args[12],
    updated_at = args[12] }
  h.seq = string.format('%d', redis.call('INCR', 'cm:seq:listings'))
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
    eng_put(id, h, args[15])
  end
  if tonumber(h.ends_at) > 0 then redis.call('ZADD', 'cm:expiry', h.ends_at, id) end
  stats_listing_created(h, args[12])
  local ev = listing_event(args[13], 'listing.created', id, h, h.owner, args[15])
  -- The stored view comes back with the answer (no second round trip), made
  -- of what was just written rather than read back, and with '' for the
  -- document: the caller sent it, so it is not sent back.
  return { 'created', id, { '', 'open', h.remaining, '1', args[5], args[12], args[12] }, ev }
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
-- → { values in LISTING_VIEW order, then the id of the last event appended }, as written
register_write('cm_listing_update', function(keys, args)
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
  stats_listing_resized(h, args[4])
  h.quantity = args[4]
  h.remaining = tostring(q - allocated)
  h.version = tostring(tonumber(h.version) + 1)
  h.doc, h.fold, h.updated_at = args[3], args[6], args[7]
  redis.call('HSET', keys[1], 'doc', args[3], 'quantity', h.quantity, 'remaining', h.remaining,
    'version', h.version, 'ends_at', args[5], 'fold', args[6], 'updated_at', args[7])
  if h.held == '1' then redis.call('HSET', keys[1], 'held_eng', args[9])
  else eng_put(id, h, args[9]) end
  if tonumber(args[5]) > 0 then redis.call('ZADD', 'cm:expiry', args[5], id)
  else redis.call('ZREM', 'cm:expiry', id) end
  local ev = listing_event(args[8], 'listing.updated', id, h, args[1], args[9])
  -- Down to what was already delivered: nothing is left to trade.
  if q > 0 and tonumber(h.fulfilled or '0') >= q then
    ev = listing_finish(keys[1], id, h, 'filled', args[7], args[8], args[1])
  end
  -- The view as this write left it (an engine may allocate from it at once).
  local row = redis.call('HMGET', keys[1], unpack(LISTING_VIEW))
  row[#row + 1] = ev
  return row
end)

-- cm_listing_close
-- KEYS: listing  ARGV: caller, now_ms, events_maxlen
-- → { values in LISTING_VIEW order, then the id of its event }, as written
register_write('cm_listing_close', function(keys, args)
  local h = hash_load(keys[1])
  if not h then return redis.error_reply('CM_NOTFOUND no such listing') end
  if h.status ~= 'open' then
    return redis.error_reply('CM_REFUSED the listing is already ' .. h.status)
  end
  local id = string.sub(keys[1], string.len('cm:listing:') + 1)
  local ev = listing_finish(keys[1], id, h, 'closed', args[2], args[3], args[1])
  local row = redis.call('HMGET', keys[1], unpack(LISTING_VIEW))
  row[#row + 1] = ev
  return row
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

-- cm_listing_search: one page of listings matching every filter, for what
-- the API nodes' memory does not answer (an owner's listings, listings that
-- are no longer open, a node whose index is loading, CSV exports).
-- KEYS: index sets to intersect (at least one: cm:listings,
--       cm:listings:owner:<id>, cm:listings:status:<s>)
-- ARGV: cursor (seq, exclusive; '' for the first page), limit, folded text
--       ('' none), forum ('' none), max entries to examine, kind, material,
--       province ('' none each)
-- → { next cursor or '', { id, doc, status, remaining, version, owner_name, created_at, updated_at }... }
redis.register_function{
  function_name = 'cm_listing_search',
  callback = function(keys, args)
    local needle, forum = args[3], args[4]
    local want = { args[6] or '', args[7] or '', args[8] or '' }
    local plain = want[1] == '' and want[2] == '' and want[3] == '' and forum == '' and needle == ''
    return scan_page(keys, args[1], tonumber(args[2]), tonumber(args[5]), function(id)
      local key = 'cm:listing:' .. id
      if not plain then
        local f = redis.call('HMGET', key, 'kind', 'material', 'province', 'forum', 'fold')
        for i = 1, 3 do
          if want[i] ~= '' and f[i] ~= want[i] then return nil end
        end
        if forum ~= '' and f[4] ~= forum then return nil end
        if needle ~= '' and not string.find(f[5] or '', needle, 1, true) then return nil end
      end
      local v = redis.call('HMGET', key, unpack(LISTING_VIEW))
      if not v[1] then return nil end
      return { id, unpack(v) }
    end)
  end,
  flags = { 'no-writes' },
}
