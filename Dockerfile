# The worker, migration and API image (`temaplan worker`, `temaplan migrate`, `temaplan api`). Dependencies first, for layer caching.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY eventstore eventstore
COPY workflows workflows
COPY activities activities
COPY temaplan temaplan
COPY audit audit
COPY api api
COPY worker.py starter.py ./
COPY examples examples
RUN pip install --no-cache-dir .
ENV LOG_FORMAT=json
USER nobody
ENTRYPOINT ["temaplan"]
