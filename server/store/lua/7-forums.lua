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
        eng_put(lid, h, record)
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
register_write('cm_forum_create', function(keys, args)
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
register_write('cm_forum_update', function(keys, args)
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
register_write('cm_forum_transition', function(keys, args)
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
register_write('cm_forum_review', function(keys, args)
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
  local selected, whole = {}, false
  if #args > 7 then
    for i = 8, #args do selected[#selected + 1] = args[i] end
  else
    whole = true
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
  -- every proposed match of the batch was selected: none is left (no second scan)
  return { 'done', done, whole and 0 or forum_batch_proposed(id) }
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
