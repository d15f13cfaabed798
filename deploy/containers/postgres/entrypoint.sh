#!/bin/sh
# First start: initdb with POSTGRES_USER / POSTGRES_PASSWORD (scram-sha-256 over the network, as the
# registry's image does when a password is set), then POSTGRES_DB. Later starts: just postgres.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
user="${POSTGRES_USER:-postgres}"
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD}" >"${pwfile}"
  initdb --username="${user}" --pwfile="${pwfile}" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "${PGDATA}" >/dev/null
  rm -f "${pwfile}"
  printf "listen_addresses = '*'\n" >>"${PGDATA}/postgresql.conf"
  printf 'host all all all scram-sha-256\n' >>"${PGDATA}/pg_hba.conf"
  db="${POSTGRES_DB:-${user}}"
  if [ "${db}" != postgres ]; then
    pg_ctl -D "${PGDATA}" -o "-c listen_addresses=''" -w start >/dev/null
    createdb --username="${user}" "${db}"
    pg_ctl -D "${PGDATA}" -m fast -w stop >/dev/null
  fi
fi
exec postgres -D "${PGDATA}"
