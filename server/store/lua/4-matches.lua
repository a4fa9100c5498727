-- Matches -------------------------------------------------------------------
--
-- cm:match:<id> hash: doc (JSON explain, written once), need, offer,
-- need_owner, offer_owner, need_province, offer_province, need_forum,
-- offer_forum, material, quantity, state, version, seq, created_at,
-- updated_at, approved_at, reviewed_by, reason, need_accepted,
-- offer_accepted, delivered, expires_at, by.
-- Indexes (sorted sets by seq): cm:matches, cm:matches:state:<s>,
-- cm:matches:listing:<id>, cm:matches:account:<id>; cm:match_expiry by
-- deadline. Each is read: the list's filters and a party's own matches
-- (cm_match_search), a listing's end (listing_end_matches, the forums),
-- expiry. Material and province are filters on the match's own fields
-- instead (libraries before 17 also wrote cm:matches:material:<code> and
-- cm:matches:province:<code>; nothing reads those any more, and they may
-- be deleted).
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
    '_failed', failed and '1' or '0', '_rep', m._rep or '' })
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
  'material', 'held', 'created_at', 'first_proposed_at' }

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
    -- the new remaining quantities, as numbers and as the text written
    local nrem, orem, ntext, otext
    if ctx then
      nrem, orem = tonumber(n[3]) - q, tonumber(o[3]) - q
      n[3], o[3] = string.format('%.0f', nrem), string.format('%.0f', orem)
      ntext, otext = n[3], o[3]
      for _, lid in ipairs({ nid, oid }) do
        if not ctx.remset[lid] then
          ctx.remset[lid] = true
          ctx.rem[#ctx.rem + 1] = lid
        end
      end
    else
      -- read in this call: the new remaining is exact, and one HSET also
      -- marks a first proposal (stats_first)
      nrem, orem = tonumber(n[3]) - q, tonumber(o[3]) - q
      ntext, otext = string.format('%.0f', nrem), string.format('%.0f', orem)
      redis.call('HSET', nkey, 'remaining', ntext, unpack(stats_first(n, now)))
      redis.call('HSET', okey, 'remaining', otext, unpack(stats_first(o, now)))
    end
    -- a listing held for its forum has no engine entry (a batch's both are)
    if batch == '' then
      eng_remaining(n[7], n[8], nid, ntext)
      eng_remaining(o[7], o[8], oid, otext)
    end
    -- a stale failure (a side changed since)
    if failed then redis.call('HDEL', PAIRS_FAILED, pair) end
    local seq
    if ctx then
      if not ctx.seq then ctx.seq = tonumber(redis.call('GET', 'cm:seq:matches') or '0') end
      ctx.seq = ctx.seq + 1
      seq = string.format('%.0f', ctx.seq)
    else
      seq = string.format('%d', redis.call('INCR', 'cm:seq:matches'))
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
        'cm:matches:account:' .. m.need_owner, 'cm:matches:account:' .. m.offer_owner }
    for _, k in ipairs(idx) do
      if ctx then ctx_zadd(ctx, k, seq, mid) else redis.call('ZADD', k, seq, mid) end
    end
    if ctx then ctx_zadd(ctx, 'cm:match_expiry', expires, mid)
    else redis.call('ZADD', 'cm:match_expiry', expires, mid) end
    stats_proposed(m, now, nid, n, oid, o)
    match_event(maxlen, 'match.proposed', mid, m, 'engine', false,
      { ntext, n[2], otext, o[2] })
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
      stats_confirmed(m, now)
      redis.call('ZREM', 'cm:match_expiry', id)
    end
  elseif action == 'fulfil' then
    local delivered = tonumber(note)
    if delivered == nil or delivered < 0 or delivered > tonumber(m.quantity) then
      return redis.error_reply('CM_INVALID delivered quantity must be from 0 to ' .. m.quantity)
    end
    sets[#sets + 1] = 'delivered'; sets[#sets + 1] = note
    sets[#sets + 1] = 'fulfilled_at'; sets[#sets + 1] = now
    stats_fulfilled(m, note, now)
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
  rep_transition(m, from, to, action, actor, side, tonumber(note) or 0)
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
register_write('cm_match_act', function(keys, args)
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
--       scope provinces csv, scope forums csv, forum filter ('' none), budget,
--       material filter ('' none), province filter ('' none: either side's)
-- A craftmatchd of a library before 17 passes those two as the keys of the
-- indexes that were: they are taken as the same filters.
-- → { next cursor or '', { { id, values in MATCH_VIEW order }... } }
redis.register_function{
  function_name = 'cm_match_search',
  callback = function(keys, args)
    local mode, forum = args[3], args[6]
    local material, province = args[8] or '', args[9] or ''
    local provs, forums = csv_set(args[4]), csv_set(args[5])
    local sets = {}
    for _, k in ipairs(keys) do
      if string.sub(k, 1, 20) == 'cm:matches:material:' then material = string.sub(k, 21)
      elseif string.sub(k, 1, 20) == 'cm:matches:province:' then province = string.sub(k, 21)
      else sets[#sets + 1] = k end
    end
    if #sets == 0 then sets[1] = 'cm:matches' end
    return scan_page(sets, args[1], tonumber(args[2]), tonumber(args[7]), function(id)
      local v = redis.call('HMGET', 'cm:match:' .. id, unpack(MATCH_VIEW))
      -- v[6..9]: provinces and forums; v[16]: approved_at
      if not v[1] then return nil end
      if forum ~= '' and v[8] ~= forum and v[9] ~= forum then return nil end
      if material ~= '' and v[10] ~= material then return nil end
      if province ~= '' and v[6] ~= province and v[7] ~= province then return nil end
      if mode == 'party' and not v[16] then return nil end
      if mode == 'scope' and not (provs[v[6]] or provs[v[7]] or
          (v[8] and forums[v[8]]) or (v[9] and forums[v[9]])) then return nil end
      return { id, unpack(v) }
    end)
  end,
  flags = { 'no-writes' },
}

