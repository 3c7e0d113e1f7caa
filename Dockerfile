# Abdi's image: one image for every process (`serve`, `worker`, `run`, `db upgrade`, the CLI).
# Build with `docker build -t abdi:$(.venv/bin/abdi --version | cut -d' ' -f2) .`

# -- build: the locked dependencies into a virtualenv, the app, its compiled catalogs ----------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
# The lock alone first: this layer is rebuilt only when a dependency changes.
COPY requirements/lock.txt /tmp/lock.txt
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/lock.txt
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY locales locales
COPY deploy/entrypoint.sh deploy/healthcheck.py deploy/
# Editable, so the app's root stays /app (catalogs and migrations are read from beside the code)
# while the venv carries its metadata (`abdi --version`) and the `abdi` script.
RUN /opt/venv/bin/pip install --no-deps -e . \
    && /opt/venv/bin/python -m bot.i18n \
    && /opt/venv/bin/python -m compileall -q bot handlers storage

# -- run: the venv and the app, nothing to build with -----------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# pg_dump and pg_restore for `abdi backup` / `abdi restore` (Debian 12's client is PostgreSQL 15:
# the server in deploy/compose.yaml is 15 too, as pg_dump refuses a newer server). Unpinned on
# purpose: security updates of the Debian release are wanted at every build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 abdi \
    && useradd --system --uid 10001 --gid abdi --home-dir /app --no-create-home abdi
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# The code stays root's (read-only to the process); only var/ (a SQLite file, console uploads)
# is the process's own.
RUN install -d -o abdi -g abdi /app/var
WORKDIR /app
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
