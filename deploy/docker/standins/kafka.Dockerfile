# Stand-in for the official apache/kafka image where no registry is reachable (make test-deploy):
# the Kafka jars our local stack installs from Maven Central, on any JRE 17+ base, configured from
# the same KAFKA_* variables (KAFKA_FOO_BAR -> foo.bar) and CLUSTER_ID as the official image.
# Build context: a folder holding libs/ (Kafka's jars) and kafka-entrypoint.sh.
ARG BASE_IMAGE=eclipse-temurin:21-jre
FROM ${BASE_IMAGE}
COPY libs/ /opt/kafka/libs/
COPY kafka-entrypoint.sh /opt/kafka/entrypoint.sh
WORKDIR /var/lib/kafka
# The data folder exists (and is the user's) so a named volume mounted there is writable.
RUN mkdir -p /var/lib/kafka/data /var/lib/kafka/config \
 && chown -R 1000:1000 /var/lib/kafka \
 && chmod 0555 /opt/kafka/entrypoint.sh
USER 1000:1000
EXPOSE 9092 9093
ENTRYPOINT ["/opt/kafka/entrypoint.sh"]
