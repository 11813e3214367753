# Stand-in for the official openzipkin/zipkin image where no registry is reachable
# (make test-deploy): Zipkin's exec jar from Maven Central on any JRE 17+ base, port 9411.
# Build context: a folder holding zipkin.jar.
ARG BASE_IMAGE=eclipse-temurin:21-jre
FROM ${BASE_IMAGE}
COPY zipkin.jar /opt/zipkin/zipkin.jar
USER 10001:10001
EXPOSE 9411
ENTRYPOINT ["sh", "-c", "exec java ${JAVA_OPTS:-} -jar /opt/zipkin/zipkin.jar"]
