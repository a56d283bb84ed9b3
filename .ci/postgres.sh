#!/usr/bin/env bash
# Start Debian's PostgreSQL on loopback for the multi-worker tests; print its URL.
set -euo pipefail
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$version" main >/dev/null
  cluster="$version main"
fi
# shellcheck disable=SC2086
pg_ctlcluster $cluster start >/dev/null 2>&1 || true
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
for _ in $(seq 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p $port" && break
  sleep 1
done
su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'greensearch';\"" >/dev/null
su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_database WHERE datname='greensearch_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port greensearch_test"
echo "postgresql://postgres:greensearch@127.0.0.1:$port/greensearch_test"
