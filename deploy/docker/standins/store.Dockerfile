# Stand-in for the official mongo image where no registry is reachable (make test-deploy): the
# store emulator of the local stack (mongo-java-server through deploy/local/mongo's launcher,
# memory backend) on any JRE 17+ base, listening on 27017 like mongod.
# Build context: the store's jars (libs/) and our launcher's classes (classes/), from the install cache.
ARG BASE_IMAGE=eclipse-temurin:21-jre
FROM ${BASE_IMAGE}
COPY libs/ /opt/store/libs/
COPY classes/ /opt/store/classes/
USER 10001:10001
EXPOSE 27017
ENTRYPOINT ["java", "-Xmx512m", "-XX:+UseSerialGC", "-cp", "/opt/store/classes:/opt/store/libs/*", \
            "mentorship.store.StoreLauncher", "--host", "0.0.0.0", "--port", "27017"]
