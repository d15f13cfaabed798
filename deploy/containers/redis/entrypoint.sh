#!/bin/sh
# Like the registry's image: `redis-server` without a config file listens on every interface, and
# protected mode (which refuses all but loopback clients when no password is set) is turned off,
# since the only clients are the containers on the compose network.
set -eu
if [ "${1:-}" = redis-server ] && [ "${2:-}" = "${2#*.conf}" ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
