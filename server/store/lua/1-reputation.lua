-- Reputation ------------------------------------------------------------------
--
-- Who keeps their word, counted by the same call that moves the match
-- (match_apply in 4-matches.lua calls rep_transition for every step: a
-- party's action, cm_match_expire, a listing's end, a forum's review), so
-- the counters never disagree with the matches.
--
-- cm:rep:<account> hash (absent until the account's first count):
--   confirmed            matches of the account that both sides confirmed
--   fulfilled            matches of the account marked fulfilled
--   quantity_fulfilled   the confirmed quantity of those (base units)
--   quantity_delivered   what was delivered of it (base units)
--   declined, cancelled, expired
--                        approved matches that failed by this account
-- cm:rep:scores hash: account → "KEPT ENDED" (fulfilled, and fulfilled +
-- declined + cancelled + expired), what the engine's tie-break reads.
--
-- Whose reputation an event counts against (docs/api.md, "Reputation"):
--   confirmed, fulfilled      both parties (a fulfilment is shared; the
--                             delivered share says how much of it came)
--   declined                  the side that declined
--   cancelled (once approved) the party that cancelled; a cancel by the
--                             end of a listing (closed, expired, its owner
--                             suspended) the owner of that listing; a
--                             moderator's cancel of a live match nobody
--   expired (once approved)   every side that had not accepted
-- Before approval (proposed, rejected, a proposal cancelled or left to
-- expire) nothing counts: the parties do not see a proposal yet.

local REP_SCORES = 'cm:rep:scores'

-- Adds the counts in t (field → amount) to account acc; notes its new
-- score in out ("ACCOUNT KEPT ENDED" items, for the event's '_rep').
local function rep_add(acc, t, out)
  local key = 'cm:rep:' .. acc
  for field, n in pairs(t) do redis.call('HINCRBY', key, field, n) end
  local v = redis.call('HMGET', key, 'fulfilled', 'declined', 'cancelled', 'expired')
  local kept = tonumber(v[1] or '0')
  local ended = kept + tonumber(v[2] or '0') + tonumber(v[3] or '0') + tonumber(v[4] or '0')
  local score = string.format('%d %d', kept, ended)
  redis.call('HSET', REP_SCORES, acc, score)
  out[#out + 1] = acc .. ' ' .. score
end

-- rep_transition: match m (its state already moved from 'from' to 'to'
-- by action, done by actor as side) counts where it must. Sets m._rep,
-- which match_event sends to the engine ('' when nothing changed).
-- delivered: the base units delivered (fulfil only).
local function rep_transition(m, from, to, action, actor, side, delivered)
  local out = {}
  local approved = m.approved_at ~= nil and m.approved_at ~= ''
  local owners = { need = m.need_owner, offer = m.offer_owner }
  local function party(s) if s == 'need' or s == 'offer' then return s end end
  local by = party(side) or (actor == m.need_owner and 'need')
    or (actor == m.offer_owner and 'offer') or nil
  if to == 'confirmed' and from ~= 'confirmed' then
    for _, s in ipairs({ 'need', 'offer' }) do rep_add(owners[s], { confirmed = 1 }, out) end
  elseif action == 'fulfil' then
    for _, s in ipairs({ 'need', 'offer' }) do
      rep_add(owners[s], { fulfilled = 1, quantity_fulfilled = tonumber(m.quantity),
        quantity_delivered = delivered }, out)
    end
  elseif action == 'decline' and by then
    rep_add(owners[by], { declined = 1 }, out)
  elseif action == 'cancel' and approved then
    if not by and (from == 'approved' or from == 'accepted') then
      -- a listing's end cancels its live matches: the other one is open
      for _, s in ipairs({ 'need', 'offer' }) do
        if redis.call('HGET', 'cm:listing:' .. m[s], 'status') ~= 'open' then by = s end
      end
    end
    if by then rep_add(owners[by], { cancelled = 1 }, out) end
  elseif action == 'expire' and approved then
    for _, s in ipairs({ 'need', 'offer' }) do
      if m[s .. '_accepted'] ~= '1' then rep_add(owners[s], { expired = 1 }, out) end
    end
  end
  m._rep = table.concat(out, ' ')
end

local REP_VIEW = { 'confirmed', 'fulfilled', 'quantity_fulfilled', 'quantity_delivered',
  'declined', 'cancelled', 'expired' }

-- cm_reputation_get  KEYS: one or more cm:rep:<account>
-- → per key, the counts in REP_VIEW order (0 when absent)
redis.register_function{
  function_name = 'cm_reputation_get',
  callback = function(keys, args)
    local out = {}
    for i, k in ipairs(keys) do
      local v = redis.call('HMGET', k, unpack(REP_VIEW))
      for j = 1, #REP_VIEW do v[j] = tonumber(v[j] or '0') end
      out[i] = v
    end
    return out
  end,
  flags = { 'no-writes' },
}

-- cm_engine_reputation: a page of cm:rep:scores, so a restarted engine
-- knows every owner's record for its tie-break.
-- KEYS: cm:rep:scores  ARGV: HSCAN cursor ('0' first), count
-- → { next cursor, { account, "KEPT ENDED", ... } }
redis.register_function{
  function_name = 'cm_engine_reputation',
  callback = function(keys, args)
    return redis.call('HSCAN', keys[1], args[1], 'COUNT', tonumber(args[2]))
  end,
  flags = { 'no-writes' },
}
