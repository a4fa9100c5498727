-- Accounts and tokens -------------------------------------------------------

-- cm_account_create
-- KEYS: account, accounts index, [idempotency]
-- ARGV: id, doc, role, province, scope_provinces, scope_forums, now_ms,
--       created_by, events_maxlen, [fingerprint], forum, fold
-- (fold: the name folded for search, common/textfold.h)
register_write('cm_account_create', function(keys, args)
  local id, doc, role, province = args[1], args[2], args[3], args[4]
  local replay = idem_check(keys[3], args[10], id, 'account')
  if type(replay) == 'table' then return replay end
  if replay then return { 'replay', replay } end
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT account id taken')
  end
  redis.call('HSET', keys[1], 'doc', doc, 'role', role, 'province', province,
    'scope_provinces', args[5], 'scope_forums', args[6], 'created_at', args[7],
    'created_by', args[8], 'forum', args[11] or '', 'fold', args[12] or '', 'version', '1')
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

-- The document and version of account id, or nil when it is absent or
-- suspended (a suspended account's credentials are refused at their next use).
-- The version ('1' until the account's first change) names the document.
local function account_active_doc(id)
  local a = redis.call('HMGET', 'cm:account:' .. id, 'doc', 'suspended', 'version')
  if not a[1] or a[2] == '1' then return nil end
  return a[1], a[3] or '1'
end

-- cm_auth  KEYS: token (by secret hash)
-- → { token id, account id, account doc, account version } or nil (unknown,
--   or its account suspended)
redis.register_function{
  function_name = 'cm_auth',
  callback = function(keys, args)
    local t = redis.call('HMGET', keys[1], 'id', 'account')
    if not t[1] then return nil end
    local doc, version = account_active_doc(t[2])
    if not doc then return nil end
    return { t[1], t[2], doc, version }
  end,
  flags = { 'no-writes' },
}

-- cm_as: a write made on the strength of a credential, checked in the same
-- call, so that a write costs one round trip and a revocation or a
-- suspension still stops the very next write on every node. The caller built
-- the write from the account it last saw for this credential (its id and
-- version); the credential must still stand for that account, the account
-- must not be suspended and must still be at that version, else nothing is
-- written and the answer is CM_REAUTH: the caller then asks cm_auth (or
-- cm_session_auth) and builds the write again from what it says.
-- KEYS: the credential (cm:token:<hash> or cm:session:<hash>), then the write's keys
-- ARGV: the write's function (one of AS_WRITES), account id, account version,
--       then the write's arguments
-- → the write's answer, or CM_REAUTH
redis.register_function('cm_as', function(keys, args)
  local write = AS_WRITES[args[1]]
  if not write then return redis.error_reply('CM_INVALID not a write cm_as runs') end
  local account
  if string.sub(keys[1], 1, 11) == 'cm:session:' then
    local s = redis.call('HMGET', keys[1], 'token', 'account')
    if s[1] and redis.call('EXISTS', 'cm:tokenid:' .. s[1]) == 1 then account = s[2] end
  else
    account = redis.call('HGET', keys[1], 'account')
  end
  if account ~= args[2] then return redis.error_reply('CM_REAUTH the credential changed') end
  local a = redis.call('HMGET', 'cm:account:' .. account, 'role', 'suspended', 'version')
  if not a[1] or a[2] == '1' or (a[3] or '1') ~= args[3] then
    return redis.error_reply('CM_REAUTH the account changed')
  end
  return write({ unpack(keys, 2) }, { unpack(args, 4) })
end)

-- cm_token_create
-- KEYS: token (by hash), token id, account's token set, account, [idempotency]
-- ARGV: id, account id, hash, name, now_ms, created_by, events_maxlen, [fingerprint]
register_write('cm_token_create', function(keys, args)
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
register_write('cm_token_revoke', function(keys, args)
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

