#!/bin/bash
# Starts one KRaft node configured like the registry's apache/kafka image: every KAFKA_<NAME>
# variable becomes the property <name> ('_' -> '.', '__' -> '_', '___' -> '-'), except the JVM
# option variables the Kafka scripts read; CLUSTER_ID formats the storage on first start.
set -euo pipefail
config=/opt/kafka/config/server.properties
: >"${config}"
while IFS='=' read -r name value; do
  case "${name}" in
    KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS | KAFKA_LOG4J_OPTS | KAFKA_GC_LOG_OPTS | KAFKA_JMX_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  property="$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')"
  printf '%s=%s\n' "${property}" "${value}" >>"${config}"
done < <(env)
: "${CLUSTER_ID:?CLUSTER_ID is required (a 22-character base64 UUID)}"
classpath='/opt/kafka/libs/*'
if [[ ! -f "$(sed -n 's/^log\.dirs=//p' "${config}" | cut -d, -f1)/meta.properties" ]]; then
  java -Xmx256m -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties -cp "${classpath}" \
    kafka.tools.StorageTool format --cluster-id "${CLUSTER_ID}" --config "${config}" --ignore-formatted
fi
# exec: the JVM is PID 1's child under `init: true` (or PID 1), and shuts down cleanly on SIGTERM.
# shellcheck disable=SC2086  # option strings are word lists by design
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
  ${KAFKA_OPTS:-} -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties \
  -cp "${classpath}" kafka.Kafka "${config}"
