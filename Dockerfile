# One image, three roles (build each with --target): the code location (a gRPC server the webserver,
# the daemon and every run load the definitions from), the webserver and the daemon. With the Helm
# values in deploy/helm/values.yaml each run is a Kubernetes Job from the code-location image.
#   docker build --target code-location -t elevra/pipeline:$(git rev-parse --short HEAD) .
# Secrets (GEMINI_API_KEY, RESEND_API_KEY, AWS_*, database URLs) come from the environment at run
# time (Kubernetes Secrets); none is baked into the image.
FROM python:3.11.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    ELEVRA_DATA_DIR=/opt/dagster/data
RUN useradd --create-home --uid 10001 elevra \
    && mkdir -p /opt/dagster/app /opt/dagster/dagster_home /opt/dagster/data \
    && chown -R elevra /opt/dagster
WORKDIR /opt/dagster/app
COPY pyproject.toml README.md ./
COPY elevra_pipeline ./elevra_pipeline
RUN pip install '.[k8s]'
COPY workspace.yaml ./
COPY deploy/k8s/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
USER elevra

FROM base AS code-location
EXPOSE 3030
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "elevra_pipeline.definitions", "--location-name", "elevra-pipeline"]

# The UI listens on all of the pod's interfaces so the cluster Service reaches it; the Service is
# ClusterIP only, and the way in is the authenticating ingress (deploy/helm/values.yaml).
FROM base AS webserver
EXPOSE 3000
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]

FROM base AS daemon
CMD ["dagster-daemon", "run", "-w", "workspace.yaml"]
