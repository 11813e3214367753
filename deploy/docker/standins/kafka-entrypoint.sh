#!/bin/sh
# Configure Kafka from KAFKA_* variables as the official image does, format storage once, run it.
set -eu
config=/var/lib/kafka/config
mkdir -p "$config"
: > "$config/server.properties"
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    esac
    # ___ -> '-', __ -> '_', _ -> '.', as the official image maps them.
    key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')
    printf '%s=%s\n' "$key" "$value" >> "$config/server.properties"
done
grep -q '^log.dirs=' "$config/server.properties" || echo "log.dirs=/var/lib/kafka/data" >> "$config/server.properties"
cat > "$config/log4j2.properties" <<'LOG'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
LOG
java_opts="${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=$config/log4j2.properties"
# shellcheck disable=SC2086 # java_opts is a list of options
java $java_opts -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
    --cluster-id "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" --config "$config/server.properties" --ignore-formatted
# shellcheck disable=SC2086
exec java $java_opts -cp '/opt/kafka/libs/*' kafka.Kafka "$config/server.properties"
