-- The organiser's desk: searching accounts, changing and suspending them ----
--
-- cm:account:<id> also keeps forum (the forum it was registered for), fold
-- (its name folded for search, common/textfold.h), version, and suspended
-- ('1' while suspended: cm_auth, cm_session_auth, cm_session_create and
-- cm_ticket_consume then refuse its credentials).

local function csv_members(s)
  local set = {}
  for v in string.gmatch(s, '[^,]+') do set[v] = true end
  return set
end

-- cm_account_search: one page of accounts, newest first.
-- KEYS: accounts index
-- ARGV: cursor, limit, folded text ('' none), role, province, forum ('' none
--       each), moderator ('1': only villages and suppliers in its scope),
--       scope provinces csv, scope forums csv, max entries to examine
-- → { next cursor or '', { id, doc }... }
redis.register_function{
  function_name = 'cm_account_search',
  callback = function(keys, args)
    local needle, role, province, forum = args[3], args[4], args[5], args[6]
    local moderator = args[7] == '1'
    local sp, sf = csv_members(args[8]), csv_members(args[9])
    return scan_page(keys, args[1], tonumber(args[2]), tonumber(args[10]), function(id)
      local a = redis.call('HMGET', 'cm:account:' .. id, 'doc', 'role', 'province', 'forum', 'fold')
      if not a[1] then return nil end
      local arole, aprov, aforum = a[2] or '', a[3] or '', a[4] or ''
      if role ~= '' and arole ~= role then return nil end
      if province ~= '' and aprov ~= province then return nil end
      if forum ~= '' and aforum ~= forum then return nil end
      if moderator then
        if arole ~= 'village' and arole ~= 'supplier' then return nil end
        if not (sp[aprov] or sf[aforum]) then return nil end
      end
      if needle ~= '' and not string.find(a[5] or '', needle, 1, true) then return nil end
      return { id, a[1] }
    end)
  end,
  flags = { 'no-writes' },
}

-- cm_account_update: a new document for an account, made from the version
-- it was read at; suspending closes its open listings with the reason
-- 'account_suspended' (their unconfirmed matches cancelled, as a close does);
-- reactivating reopens nothing.
-- KEYS: account
-- ARGV: id, doc, expected version, suspended ('1' | '0'), fold, by, now_ms,
--       events_maxlen
-- → { doc, number of listings closed }
register_write('cm_account_update', function(keys, args)
  local a = redis.call('HMGET', keys[1], 'version', 'suspended', 'role', 'province')
  if not a[3] then return redis.error_reply('CM_NOTFOUND no such account') end
  local version = a[1] or '1'
  if version ~= args[3] then
    return redis.error_reply('CM_CONFLICT the account changed meanwhile (now version ' ..
      version .. '); reload and retry')
  end
  local id, was, now = args[1], a[2] == '1', args[4] == '1'
  local next = tostring(tonumber(version) + 1)
  redis.call('HSET', keys[1], 'doc', args[2], 'version', next, 'fold', args[5],
    'suspended', args[4])
  local closed = 0
  local etype = 'account.updated'
  if now and not was then
    etype = 'account.suspended'
    for _, lid in ipairs(redis.call('ZRANGE', 'cm:listings:owner:' .. id, 0, -1)) do
      local key = 'cm:listing:' .. lid
      local h = hash_load(key)
      if h and h.status == 'open' then
        listing_finish(key, lid, h, 'closed', args[7], args[8], args[6], 'account_suspended')
        closed = closed + 1
      end
    end
  elseif was and not now then
    etype = 'account.reactivated'
  end
  emit(args[8], etype, { 'account', id, 'role', a[3], 'province', a[4] or '',
    'version', next, 'closed_listings', tostring(closed), 'by', args[6] })
  return { args[2], closed }
end)
