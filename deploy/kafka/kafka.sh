#!/usr/bin/env bash
# Local single-node Kafka (KRaft, combined broker + controller) for Tessera.
#
# Usage: deploy/kafka/kafka.sh <fetch|start|stop|status|logs|reset|topics> [args]
#
#   fetch    resolve the broker jars from Maven Central into the cache (once)
#   start    fetch if needed, render config, format storage once, start the
#            broker in the background and wait until it serves metadata
#   stop     stop the broker started by this script (pid file only)
#   status   exit 0 when the broker is running, 3 otherwise
#   logs     tail the broker log (`logs -f` to follow, LINES=n for more)
#   reset    stop and wipe all broker state (topics, offsets, cluster id)
#   topics   run org.apache.kafka.tools.TopicCommand against the local broker,
#            e.g. `kafka.sh topics --list`
#
# Environment:
#   TESSERA_HOME            cache/state root            (default ~/.cache/tessera)
#   KAFKA_STATE_DIR         broker state dir            (default $TESSERA_HOME/kafka-state)
#   KAFKA_HEAP_OPTS         JVM heap                    (default -Xms512m -Xmx1g)
#   KAFKA_JVM_OPTS          extra JVM options           (default empty)
#   KAFKA_PORT              PLAINTEXT listener port     (default 9092)
#   KAFKA_CONTROLLER_PORT   CONTROLLER listener port    (default 9093)
#   KAFKA_START_TIMEOUT     seconds to wait for ready   (default 90)
set -euo pipefail

readonly KAFKA_VERSION="3.9.2"
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly POM="${SCRIPT_DIR}/pom.xml"
readonly CONFIG_TEMPLATE="${SCRIPT_DIR}/server.properties.template"
readonly LOG4J_CONFIG="${SCRIPT_DIR}/log4j.properties"
readonly TOOLS_LOG4J_CONFIG="${SCRIPT_DIR}/tools-log4j.properties"

readonly TESSERA_HOME="${TESSERA_HOME:-${HOME}/.cache/tessera}"
readonly CACHE_DIR="${TESSERA_HOME}/kafka-${KAFKA_VERSION}"
readonly LIBS_DIR="${CACHE_DIR}/libs"
readonly FETCH_MARKER="${CACHE_DIR}/.fetch-complete"

readonly STATE_DIR="${KAFKA_STATE_DIR:-${TESSERA_HOME}/kafka-state}"
readonly DATA_DIR="${STATE_DIR}/data"
readonly SERVER_CONFIG="${STATE_DIR}/server.properties"
readonly CLUSTER_ID_FILE="${STATE_DIR}/cluster.id"
readonly PID_FILE="${STATE_DIR}/kafka.pid"
readonly LOG_FILE="${STATE_DIR}/kafka.log"
readonly LOCK_FILE="${TESSERA_HOME}/kafka.lock"

readonly BROKER_PORT="${KAFKA_PORT:-9092}"
readonly CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
readonly START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
readonly STOP_TIMEOUT=30
readonly HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Serialise start/stop/reset so concurrent callers (e.g. parallel test runs)
# cannot launch two brokers on the same state directory.
with_lock() {
  mkdir -p "${TESSERA_HOME}"
  exec 9>"${LOCK_FILE}"
  flock -w 180 9 || die "timed out waiting for ${LOCK_FILE}"
  "$@"
}

# sha256 of the POM: a changed POM invalidates the fetched jars.
pom_digest() { sha256sum "${POM}" | cut -d' ' -f1; }

fetch_is_complete() {
  [[ -f "${FETCH_MARKER}" ]] && [[ "$(cat "${FETCH_MARKER}")" == "$(pom_digest)" ]] \
    && compgen -G "${LIBS_DIR}/kafka_2.13-${KAFKA_VERSION}.jar" >/dev/null
}

cmd_fetch() {
  if fetch_is_complete; then
    log "jars already present in ${LIBS_DIR}"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found on PATH (needed once to fetch the Kafka jars)"
  log "resolving Kafka ${KAFKA_VERSION} jars into ${LIBS_DIR}"
  rm -rf "${LIBS_DIR}" "${FETCH_MARKER}"
  local tmp="${CACHE_DIR}/libs.tmp.$$"
  rm -rf "${tmp}"
  mkdir -p "${tmp}"
  if ! mvn -B -q -f "${POM}" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="${tmp}"; then
    rm -rf "${tmp}"
    die "maven could not resolve ${POM}"
  fi
  mv "${tmp}" "${LIBS_DIR}"
  pom_digest >"${FETCH_MARKER}"
  log "fetched $(find "${LIBS_DIR}" -name '*.jar' | wc -l) jars"
}

classpath() { printf '%s/*' "${LIBS_DIR}"; }

run_java_tool() {
  # shellcheck disable=SC2086  # KAFKA_JVM_OPTS is a word list by design
  java -Xmx256m -XX:TieredStopAtLevel=1 ${KAFKA_JVM_OPTS:-} \
    -Dlog4j.configuration="file:${TOOLS_LOG4J_CONFIG}" \
    -cp "$(classpath)" "$@"
}

# Is <pid> our broker (kafka.Kafka started with our server.properties)?
is_our_broker() {
  local pid="$1" cmdline
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
  [[ "${cmdline}" == *" kafka.Kafka ${SERVER_CONFIG}"* ]]
}

running_pid() {
  local pid
  [[ -f "${PID_FILE}" ]] || return 1
  pid="$(cat "${PID_FILE}")"
  is_our_broker "${pid}" || return 1
  printf '%s\n' "${pid}"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

render_config() {
  mkdir -p "${DATA_DIR}"
  sed -e "s|@LOG_DIRS@|${DATA_DIR}|g" \
      -e "s|@BROKER_PORT@|${BROKER_PORT}|g" \
      -e "s|@CONTROLLER_PORT@|${CONTROLLER_PORT}|g" \
      "${CONFIG_TEMPLATE}" >"${SERVER_CONFIG}.tmp"
  mv "${SERVER_CONFIG}.tmp" "${SERVER_CONFIG}"
}

format_storage_once() {
  if [[ -f "${DATA_DIR}/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  if [[ -s "${CLUSTER_ID_FILE}" ]]; then
    cluster_id="$(cat "${CLUSTER_ID_FILE}")"
  else
    cluster_id="$(run_java_tool kafka.tools.StorageTool random-uuid | tail -n 1)"
    [[ "${cluster_id}" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid returned '${cluster_id}'"
    printf '%s\n' "${cluster_id}" >"${CLUSTER_ID_FILE}"
  fi
  log "formatting KRaft storage in ${DATA_DIR} (cluster id ${cluster_id})"
  run_java_tool kafka.tools.StorageTool format \
    --cluster-id "${cluster_id}" --config "${SERVER_CONFIG}" --ignore-formatted >&2 \
    || die "StorageTool format failed"
}

# Broker answers a metadata request (ListTopics) on the PLAINTEXT listener.
serves_metadata() {
  timeout 15 java -Xmx128m -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:${TOOLS_LOG4J_CONFIG}" \
    -cp "$(classpath)" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:${BROKER_PORT}" --list >/dev/null 2>&1
}

wait_until_ready() {
  local pid="$1" log_offset="$2" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! is_our_broker "${pid}"; then
      tail -n 30 "${LOG_FILE}" >&2 || true
      die "broker (pid ${pid}) exited during startup; see ${LOG_FILE}"
    fi
    # Process substitution, not a pipe: with pipefail, grep -q exiting early
    # would SIGPIPE tail and turn a match into a failure.
    if grep -q 'Kafka Server started' < <(tail -c "+$((log_offset + 1))" "${LOG_FILE}") \
        && port_open "${BROKER_PORT}" && serves_metadata; then
      return 0
    fi
    sleep 1
  done
  tail -n 30 "${LOG_FILE}" >&2 || true
  die "broker (pid ${pid}) not ready after ${START_TIMEOUT}s; see ${LOG_FILE} (it is still running: '$0 stop' to stop it)"
}

start_locked() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid ${pid}) on 127.0.0.1:${BROKER_PORT}; log: ${LOG_FILE}"
    return 0
  fi
  rm -f "${PID_FILE}"
  command -v java >/dev/null || die "java not found on PATH (Java 17 required)"
  local port
  for port in "${BROKER_PORT}" "${CONTROLLER_PORT}"; do
    if port_open "${port}"; then
      die "port ${port} is already in use, but not by the broker of ${STATE_DIR} (another Kafka? set KAFKA_PORT/KAFKA_CONTROLLER_PORT)"
    fi
  done
  cmd_fetch
  render_config
  format_storage_once

  local log_offset=0
  [[ -f "${LOG_FILE}" ]] && log_offset="$(stat -c %s "${LOG_FILE}")"
  printf '\n===== kafka.sh start %s =====\n' "$(date -u +%FT%TZ)" >>"${LOG_FILE}"

  # setsid: own session, so killing the caller's process group (CI step,
  # terminal) does not take the broker down with it. 9>&-: the broker must
  # not inherit (and hold forever) the flock on LOCK_FILE.
  # shellcheck disable=SC2086  # option strings are word lists by design
  setsid nohup java ${HEAP_OPTS} \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
    ${KAFKA_JVM_OPTS:-} \
    -Dlog4j.configuration="file:${LOG4J_CONFIG}" -Dkafka.logs.dir="${STATE_DIR}" \
    -cp "$(classpath)" kafka.Kafka "${SERVER_CONFIG}" \
    >>"${LOG_FILE}" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "${pid}" >"${PID_FILE}"
  sleep 0.5
  log "started broker pid ${pid}; log: ${LOG_FILE}"
  wait_until_ready "${pid}" "${log_offset}"
  log "ready on 127.0.0.1:${BROKER_PORT} (controller 127.0.0.1:${CONTROLLER_PORT})"
}

stop_locked() {
  local pid
  if [[ ! -f "${PID_FILE}" ]]; then
    log "not running (no pid file)"
    return 0
  fi
  pid="$(cat "${PID_FILE}")"
  if ! is_our_broker "${pid}"; then
    log "stale pid file (pid ${pid} is not our broker); removing it"
    rm -f "${PID_FILE}"
    return 0
  fi
  log "stopping broker pid ${pid}"
  kill -TERM "${pid}"
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while ((SECONDS < deadline)) && kill -0 "${pid}" 2>/dev/null; do
    sleep 0.5
  done
  if kill -0 "${pid}" 2>/dev/null && is_our_broker "${pid}"; then
    log "broker did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "${pid}"
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "${PID_FILE}"
  log "stopped"
}

reset_locked() {
  stop_locked
  log "wiping ${STATE_DIR}"
  rm -rf "${STATE_DIR}"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "${BROKER_PORT}"; then
      log "running (pid ${pid}) on 127.0.0.1:${BROKER_PORT}; log: ${LOG_FILE}"
    else
      log "running (pid ${pid}) but port ${BROKER_PORT} not accepting connections yet; log: ${LOG_FILE}"
    fi
    return 0
  fi
  log "not running"
  return 3
}

cmd_logs() {
  [[ -f "${LOG_FILE}" ]] || die "no log yet at ${LOG_FILE}"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n "${LINES:-100}" -F "${LOG_FILE}"
  fi
  tail -n "${LINES:-100}" "${LOG_FILE}"
}

cmd_topics() {
  fetch_is_complete || die "jars not fetched; run '$0 fetch' or '$0 start'"
  run_java_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:${BROKER_PORT}" "$@"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    fetch) with_lock cmd_fetch ;;
    start) with_lock start_locked ;;
    stop) with_lock stop_locked ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    reset) with_lock reset_locked ;;
    topics) cmd_topics "$@" ;;
    *) usage ;;
  esac
}

main "$@"
