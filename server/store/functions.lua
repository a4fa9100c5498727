#!lua name=craftmatch
--[[
craftmatch — the Redis function library: every state change in one place.

Each function is one atomic state change: it checks what it must, writes the
state and its indexes, and appends the event to cm:events in the same call
(DESIGN.md invariants 3 and 4). craftmatchd embeds this file and loads it with
FUNCTION LOAD REPLACE at start and after every reconnect.

Keys: every key a function touches is built from server-made ids passed in
KEYS or derived here from them; user text arrives only in ARGV.
--]]

local LIBRARY_VERSION = '1'

-- cm_version: readiness probe; returns the loaded library version.
redis.register_function{
  function_name = 'cm_version',
  callback = function(keys, args) return LIBRARY_VERSION end,
  flags = { 'no-writes', 'allow-stale' },
}
