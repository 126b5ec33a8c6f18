#!/bin/sh
# Temporal's schema in its own two databases, by its admin tools (temporal-sql-tool), as
# Temporal's production guidance has it: run once before the server starts, and again on
# an upgrade (each step is a no-op when the schema is current).
set -eu
export SQL_PASSWORD="$(cat /run/secrets/temporal_db_password)"
schema=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
    dir=$([ "$db" = temporal ] && echo temporal || echo visibility)
    temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" \
        setup-schema -v 0.0
    temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" \
        update-schema -d "$schema/$dir/versioned"
done
