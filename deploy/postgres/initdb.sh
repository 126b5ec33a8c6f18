#!/bin/sh
# The event store's and Temporal's roles and databases, on the first start of the compose
# stack's postgres (mounted into /docker-entrypoint-initdb.d): eventstore/roles.sql with
# the passwords from the compose secrets. tests/integration/test_compose_topology.py runs
# this same script against the project's PostgreSQL.
set -eu
secrets="${SECRETS_DIR:-/run/secrets}"
psql --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    -v events_db=temaplan_events \
    -v owner_role=temaplan_owner -v owner_password="$(cat "$secrets/events_owner_password")" \
    -v app_role=temaplan_app -v app_password="$(cat "$secrets/events_app_password")" \
    -v auditor_role=temaplan_auditor -v auditor_password="$(cat "$secrets/events_auditor_password")" \
    -v temporal_role=temporal -v temporal_password="$(cat "$secrets/temporal_db_password")" \
    -v temporal_db=temporal -v temporal_visibility_db=temporal_visibility \
    -f "${ROLES_SQL:-/temaplan/roles.sql}"
