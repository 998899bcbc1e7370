# Touchpoint image: `docker build -t touchpoint .`
# The default command is `touchpoint serve` (it applies database migrations before listening);
# any other subcommand works too, e.g. `docker run --rm touchpoint db upgrade`.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: build Touchpoint's wheel and install it, with its dependencies, into /opt/venv ---
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

WORKDIR /src
# Only what the wheel is built from (the packages listed in pyproject.toml).
COPY pyproject.toml README.md ./
COPY adapters/ adapters/
COPY bot/ bot/
COPY handlers/ handlers/
COPY scheduler/ scheduler/
COPY storage/ storage/

RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/*.whl

# --- runtime: the venv and a non-root user, nothing else ---
FROM ${PYTHON_IMAGE}

RUN groupadd --system --gid 10001 touchpoint \
    && useradd --system --uid 10001 --gid touchpoint --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin touchpoint \
    && mkdir -p /app /data \
    && chown touchpoint:touchpoint /app /data

COPY --from=builder /opt/venv /opt/venv

# SQLite in /data unless TOUCHPOINT_DATABASE_URL says otherwise (mount a volume there to keep it);
# the health model is read from /app/touchpoint.toml when one is mounted (built-in defaults otherwise).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TOUCHPOINT_LOG_JSON=true \
    TOUCHPOINT_DATABASE_URL=sqlite+aiosqlite:////data/touchpoint.db \
    TOUCHPOINT_CONFIG_FILE=/app/touchpoint.toml

WORKDIR /app
USER 10001:10001

EXPOSE 3978

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3978/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["touchpoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3978"]
