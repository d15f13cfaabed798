#!/bin/sh
# The distribution's kafka-topics.sh (org.apache.kafka.tools.TopicCommand), for the healthcheck.
exec java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
  -cp '/opt/kafka/libs/*' org.apache.kafka.tools.TopicCommand "$@"
