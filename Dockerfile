# One multi-stage pattern for the whole fleet, built from the lock (uv sync --frozen), non-root:
#   docker build -t aintech/platform .                    every service but the scraper
#   docker build --target scraper -t aintech/scraper .    the same plus Debian's Chromium
# Each container runs one service's API or worker:
#   python -m <service>            (API, e.g. python -m core_crm)
#   python -m <service>.worker     (outbox relay, consumers, scheduled jobs)
#   python deploy/local/stack.py migrate   (schemas, roles, topics, migrations)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS base
RUN useradd --uid 10001 --user-group --create-home aintech
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY services services
COPY libs libs
COPY deploy/local deploy/local
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 AINTECH_LOG_JSON=true
EXPOSE 8000-8008 8100-8108

# The scraper drives carrier portals with a headless browser: Debian's Chromium, nothing fetched
# at run time. Its read-only root filesystem needs /tmp and /dev/shm mounted (the production
# overlay mounts both).
FROM base AS scraper
# Debian's packages follow the pinned base image (their versions are not pinned again).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
ENV CHROMIUM_PATH=/usr/bin/chromium
USER 10001
CMD ["python", "-m", "scraper"]

FROM base AS platform
USER 10001
CMD ["python", "-m", "gateway"]
