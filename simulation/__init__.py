"""`make simulate`: a company runs a mentorship programme year on the platform, driven only through
the services' HTTP APIs and the shared clock, with faults along the way; then every invariant that
spans the services is checked against their stores and Kafka, and a report is written."""
