# The worker, migration and API image (`temaplan worker`, `temaplan migrate`, `temaplan
# api`, `temaplan backup`). No development servers: the Temporal dev server and the
# embedded PostgreSQL are the `[embedded]` extra, not installed here.
# Pin by digest before deploying (docker-compose.yml says how).
FROM python:3.11-slim-bookworm

# Pango and fonts for WeasyPrint's PDFs (documents/pdf.py).
# pg_dump and pg_restore of the compose stack's PostgreSQL major version (16), for
# `temaplan backup` and `temaplan restore`, from the PostgreSQL project's Debian archive.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
    && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
        | gpg --dearmor -o /usr/share/keyrings/postgresql.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/postgresql.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-16 \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-liberation2 \
    && apt-get purge -y curl gnupg && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, exactly as locked (`make lock`): this layer is rebuilt only when
# requirements.lock changes, not on every change of the code.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md ./
COPY domain domain
COPY eventstore eventstore
COPY client client
COPY runtime runtime
COPY workflows workflows
COPY activities activities
COPY temaplan temaplan
COPY audit audit
COPY api api
COPY catalogue catalogue
COPY documents documents
COPY worker.py starter.py ./
COPY examples examples
# The project itself only: its dependencies are already there, as locked.
RUN pip install --no-cache-dir --no-deps . \
    && useradd --system --uid 10001 --no-create-home temaplan

ENV LOG_FORMAT=json
USER temaplan
# The API answers /healthz; the worker and one-shot commands have no port, so the check
# passes for them when the process runs (compose's own health checks are per service).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request; port = os.environ.get('TEMAPLAN_API_PORT'); sys.exit(0) if not port else urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"
ENTRYPOINT ["temaplan"]
