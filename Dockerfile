# ip-fhir-adapter — mirrors the README: install the package, serve the adapter on the embedded
# SQLite default inside /data. Production: pass --database postgresql+psycopg://... and the
# JWKS/issuer settings (IPFHIR_* environment variables) instead of --dev.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY adapter ./adapter
COPY mappings ./mappings
COPY profiles ./profiles
COPY conformance ./conformance
COPY fixtures ./fixtures
RUN pip install . && useradd --system --home /data ipfhir && mkdir -p /data && chown ipfhir /data

USER ipfhir
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["ipfhir"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
