# Services the test suite needs, started for real when they are not already running.
# Sourced by ./run test.

# Answer 0 when something speaks Redis on HOST PORT.
redis_answers() {
  local reply
  exec 3<>"/dev/tcp/$1/$2" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || reply=""
  exec 3>&- 3<&-
  [[ "$reply" == "+PONG"* ]]
}

start_redis() {
  if redis_answers 127.0.0.1 6379; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server missing: installing it (apt-get install -y redis-server)" >&2
    if [[ $(id -u) -eq 0 ]]; then
      apt-get install -y redis-server >/dev/null || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }
    else
      sudo apt-get install -y redis-server >/dev/null
    fi
  fi
  redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --logfile "${TMPDIR:-/tmp}/hazmat-test-redis.log" >/dev/null
  for _ in $(seq 50); do redis_answers 127.0.0.1 6379 && return 0; sleep 0.1; done
  echo "error: redis-server did not answer on 127.0.0.1:6379" >&2
  return 1
}

# PostgreSQL for the persistence tests: the local server (trust auth on 127.0.0.1:5432), started
# or installed when missing. Tests create and drop their own database on it.
postgres_answers() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432
}

start_postgres() {
  if postgres_answers; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "PostgreSQL missing: installing it (apt-get install -y postgresql)" >&2
    { apt-get install -y postgresql >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; }; } || return 1
    local conf
    conf=$(ls -d /etc/postgresql/*/main | head -1)
    echo "host all all 127.0.0.1/32 trust" > "$conf/pg_hba.conf.hazmat"
    cat "$conf/pg_hba.conf" >> "$conf/pg_hba.conf.hazmat"
    mv "$conf/pg_hba.conf.hazmat" "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 50); do postgres_answers && return 0; sleep 0.2; done
  echo "error: PostgreSQL did not answer on 127.0.0.1:5432" >&2
  return 1
}

# Headless Chromium and a CJK font for the map pages' real-browser tests (Debian packages).
install_browser() {
  if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wenquanyi"; then
    return 0
  fi
  echo "installing chromium and fonts-wqy-microhei for the browser tests" >&2
  { apt-get install -y chromium fonts-wqy-microhei >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y chromium fonts-wqy-microhei >/dev/null; }; } ||
    echo "warning: could not install chromium; the browser tests will say so" >&2
}

start_services() {
  install_browser
  start_postgres
  export HAZMAT_TEST_POSTGRES_URL="${HAZMAT_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"
  start_redis
  # Tests that need their own server (kill and restart) start one on a free port.
  export HAZMAT_REDIS_URL="${HAZMAT_REDIS_URL:-redis://127.0.0.1:6379/0}"
  export HAZMAT_REDIS_SERVER="${HAZMAT_REDIS_SERVER:-$(command -v redis-server)}"
}
