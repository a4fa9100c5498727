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
      record = e and string.match(e, '^%S+ %S+ %S+ ([^\n]*)') or ''
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


-- The call market's turn (server/engine/callmarket.c) ---------------------
--
-- KEYS[1] = cm:engine:callmarket, the id of the engine node that runs the
-- call market's rounds. With several engine nodes in call mode
-- (--call-interval > 0) one round runs at a time: a node runs a round only
-- while it holds the key, takes it for ttl_ms (a bound on one round) and,
-- when its round is over, keeps it for hold_ms (the call interval), so that
-- no other node starts a round meanwhile; the holder renews it with its next
-- round, and when it stops the key expires and another node takes over.
-- The key is coordination, not state of record: no event.

-- cm_callmarket_claim  KEYS: the key  ARGV: node id, ttl_ms
-- → 1 when this node holds it now (taken, or renewed), 0 when another does
redis.register_function('cm_callmarket_claim', function(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder and holder ~= args[1] then return 0 end
  redis.call('SET', keys[1], args[1], 'PX', args[2])
  return 1
end)

-- cm_callmarket_done  KEYS: the key  ARGV: node id, hold_ms
-- → 1 when this node held it (now kept hold_ms more), 0 otherwise
redis.register_function('cm_callmarket_done', function(keys, args)
  if redis.call('GET', keys[1]) ~= args[1] then return 0 end
  redis.call('PEXPIRE', keys[1], args[2])
  return 1
end)

