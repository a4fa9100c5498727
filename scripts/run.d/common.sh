# scripts/run.d/common.sh — what scripts/run and scripts/cluster share: sourced,
# not run. The caller defines say() and die() (messages prefixed with its name).

# True when something accepts TCP connections on host:port.
port_taken() {
  # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Sends SIGTERM (or $4) to a child, waits up to $3 seconds for it, then
# SIGKILL; reaps it.
stop_child() {
  local pid=$1 name=$2 limit=$3 sig=${4:-TERM} ticks=0
  kill -"$sig" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((ticks >= limit * 10)); then
      say "$name (pid $pid) did not stop within ${limit}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    ticks=$((ticks + 1))
  done
  wait "$pid" 2>/dev/null || true
}

# Waits up to 60s until the redis-server (pid $2) on 127.0.0.1:$1 answers
# PONG (not LOADING: a large AOF takes a while to replay). On failure says
# why, with the end of its log $3, and returns 1.
wait_redis_pong() {
  local port=$1 pid=$2 log=$3 ticks=0 rc
  until [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == PONG ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" || rc=$?
      say "redis-server on port $port exited during startup (status $rc); see its messages above and the end of $log:"
      tail -n 20 "$log" >&2 2>/dev/null || true
      return 1
    fi
    if ((ticks >= 600)); then
      say "the Redis on port $port did not answer PING within 60s; see $log"
      return 1
    fi
    sleep 0.1
    ticks=$((ticks + 1))
  done
}

# HTTP status of a GET (000 when there is no answer). With a token file, the
# token goes to curl through its config on stdin, never on a command line.
http_status() {
  local url=$1 token_file=${2:-}
  if [[ -n "$token_file" ]]; then
    { printf 'header = "Authorization: Bearer '; tr -d '\r\n' <"$token_file"; printf '"\n'; } |
      curl -s -o /dev/null -w '%{http_code}' --max-time 5 -K - "$url" 2>/dev/null || true
  else
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null || true
  fi
}

# Waits up to $3 seconds (default 60) for $1/readyz to answer 200 while the
# process $2 stays up.
wait_ready_at() {
  local base_url=$1 pid=$2 limit=${3:-60} ticks=0
  until [[ "$(http_status "$base_url/readyz")" == 200 ]]; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((ticks < limit * 2)) || return 1
    sleep 0.5
    ticks=$((ticks + 1))
  done
}

# ensure_admin BASE_URL TOKEN_FILE CRAFTMATCHD [craftmatchd flags naming the Redis...]
# TOKEN_FILE holds a token the server at BASE_URL accepts, or a new bootstrap
# admin is created (craftmatchd --create-admin) and its token written there
# (mode 0600, shown nowhere else).
ensure_admin() {
  local base_url=$1 token_file=$2 bin=$3 name="Quản trị craftmatch" out token
  shift 3
  if [[ -s "$token_file" && "$(http_status "$base_url/v1/me" "$token_file")" == 200 ]]; then
    say "bootstrap admin: reusing the token in $token_file"
    return 0
  fi
  out=$("$bin" --create-admin "$name" "$@" --log-level warn </dev/null 9>&-) ||
    die "craftmatchd --create-admin failed; see its message above"
  token=$(printf '%s\n' "$out" | sed -n 's/^token: \(cm_[A-Za-z0-9_-]*\)$/\1/p' | head -n 1)
  [[ -n "$token" ]] || die "craftmatchd --create-admin printed no token"
  (umask 077 && printf '%s\n' "$token" >"$token_file.tmp")
  chmod 600 "$token_file.tmp"
  mv -f "$token_file.tmp" "$token_file"
  say "bootstrap admin \"$name\" created; its token is in $token_file (mode 0600, shown nowhere else)"
}
