# ip-fhir-adapter: the same wheel the tests install (tests/test_packaging.py), with dependencies
# pinned by constraints.txt, served on the embedded SQLite default inside /data.
# Production: pass --database postgresql+psycopg://... and IPFHIR_AUTH_ISSUER / IPFHIR_AUTH_JWKS
# (without them, or with --dev, the server refuses to start or trusts only a local dev key).
#
# The base image is pinned by tag and digest (the multi-platform index of the tag); to move to a
# newer patch release, change both, or pass --build-arg PYTHON_IMAGE=...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ipfhir ./ipfhir
COPY adapter ./adapter
COPY mappings ./mappings
COPY profiles ./profiles
COPY conformance ./conformance
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    pip install -c /tmp/constraints.txt /wheels/*.whl \
 && rm /tmp/constraints.txt \
 && groupadd --system --gid 10001 ipfhir \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home ipfhir \
 && mkdir /data && chown 10001:10001 /data

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["ipfhir"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
