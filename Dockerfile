# One image for the whole fleet; each container runs one service's API or worker:
#   python -m <service>            (API, e.g. python -m core_crm)
#   python -m <service>.worker     (outbox relay, consumers, scheduled jobs)
#   python deploy/local/stack.py migrate   (schemas, roles, topics, migrations)
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --create-home aintech
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY services services
COPY libs libs
COPY deploy/local deploy/local
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 AINTECH_LOG_JSON=true
USER 10001
EXPOSE 8000-8008
CMD ["python", "-m", "gateway"]
