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
-- A position later than the last id is the id of an entry a failover lost
-- (a replica promoted before it had the last entries its primary had
-- already sent to subscribers) when it is at most EVENTS_LOST_TAIL_MS later:
-- the stream's next entries follow it (each node's reader raises the last id
-- to what it handed out, XSETID, and the clock moves on), so nothing follows
-- it yet. Further ahead, it is a position of another stream.
local EVENTS_LOST_TAIL_MS = 60000
-- KEYS: cm:events  ARGV: position (exclusive; validated 'ms-seq'), count
-- → { 'ok', { { id, { field, value, ... } }... } }
--   or { 'reset', 'trimmed' }: entries after the position are no longer kept
--   or { 'reset', 'unknown' }: the position is not one of this stream (later
--      than its last id by more than a lost tail, or the stream is gone)
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
    if stream_id_cmp(after, last) > 0 then
      local ahead = tonumber(string.match(after, '^(%d+)')) - tonumber(string.match(last, '^(%d+)'))
      if ahead > EVENTS_LOST_TAIL_MS then return { 'reset', 'unknown' } end
      return { 'ok', {} }
    end
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
--   the token it was issued with has been revoked since, or its account suspended)
redis.register_function('cm_ticket_consume', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'account', 'token')
  if not t[1] then return nil end
  redis.call('DEL', keys[1])
  if redis.call('EXISTS', 'cm:tokenid:' .. t[2]) == 0 then return nil end
  local doc = account_active_doc(t[1])
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
-- ARGV: ttl_ms, now_ms → { token id, account id, account doc } or nil (unknown code,
-- or its account suspended)
redis.register_function('cm_session_create', function(keys, args)
  local t = redis.call('HMGET', keys[1], 'id', 'account')
  if not t[1] then return nil end
  local doc = account_active_doc(t[2])
  if not doc then return nil end
  redis.call('HSET', keys[2], 'account', t[2], 'token', t[1], 'created_at', args[2])
  redis.call('PEXPIRE', keys[2], tonumber(args[1]))
  return { t[1], t[2], doc }
end)

-- cm_session_auth  KEYS: session
-- → { token id, account id, account doc, account version } or nil (unknown,
--   expired, its token revoked, or its account suspended)
redis.register_function{
  function_name = 'cm_session_auth',
  callback = function(keys, args)
    local t = redis.call('HMGET', keys[1], 'token', 'account')
    if not t[1] then return nil end
    if redis.call('EXISTS', 'cm:tokenid:' .. t[1]) == 0 then return nil end
    local doc, version = account_active_doc(t[2])
    if not doc then return nil end
    return { t[1], t[2], doc, version }
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

