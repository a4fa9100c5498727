-- Imports (POST /v1/imports) ------------------------------------------------
--
-- An import of a spreadsheet is a resource kept for its owner to follow:
-- cm:import:<id> hash: owner, kind, forum, status (queued | running | done),
-- total, done, created, skipped, failed, created_at, updated_at; and
-- cm:import:<id>:rows, a list of one JSON result per row in sheet order.
-- Both expire ARGV ttl seconds after the last write. The rows themselves are
-- created by cm_account_create and cm_listing_create, each with its event;
-- the import's own keys are bookkeeping and emit none.

-- cm_import_put  KEYS: import, rows  ARGV: owner, kind, forum, total, now_ms, ttl
redis.register_function('cm_import_put', function(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return redis.error_reply('CM_CONFLICT import id taken')
  end
  redis.call('HSET', keys[1], 'owner', args[1], 'kind', args[2], 'forum', args[3],
    'status', 'queued', 'total', args[4], 'done', '0', 'created', '0', 'skipped', '0',
    'failed', '0', 'created_at', args[5], 'updated_at', args[5])
  redis.call('EXPIRE', keys[1], args[6])
  return 1
end)

-- cm_import_progress  KEYS: import, rows
-- ARGV: status, created, skipped, failed (each added), now_ms, ttl, results...
-- (results: the JSON of the rows done since the last call, in order)
-- → rows done so far
redis.register_function('cm_import_progress', function(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then
    return redis.error_reply('CM_NOTFOUND no such import')
  end
  local n = #args - 6
  if n > 0 then redis.call('RPUSH', keys[2], unpack(args, 7)) end
  redis.call('HINCRBY', keys[1], 'created', args[2])
  redis.call('HINCRBY', keys[1], 'skipped', args[3])
  redis.call('HINCRBY', keys[1], 'failed', args[4])
  local done = redis.call('HINCRBY', keys[1], 'done', n)
  redis.call('HSET', keys[1], 'status', args[1], 'updated_at', args[5])
  redis.call('EXPIRE', keys[1], args[6])
  if redis.call('EXISTS', keys[2]) == 1 then redis.call('EXPIRE', keys[2], args[6]) end
  return done
end)

-- cm_import_get  KEYS: import, rows  ARGV: offset, limit
-- → { flat hash, results[offset .. offset+limit-1] } or nil
redis.register_function{
  function_name = 'cm_import_get',
  callback = function(keys, args)
    local h = redis.call('HGETALL', keys[1])
    if #h == 0 then return nil end
    local from = tonumber(args[1])
    local rows = redis.call('LRANGE', keys[2], from, from + tonumber(args[2]) - 1)
    return { h, rows }
  end,
  flags = { 'no-writes' },
}
