#!/bin/sh
# The server image reads its database password from POSTGRES_PWD only: taken from the
# compose secret here, so it is never written in the compose file or the environment.
set -eu
POSTGRES_PWD="$(cat /run/secrets/temporal_db_password)"
TEMPORAL_BROADCAST_ADDRESS="$(hostname -i | cut -d' ' -f1)"
export POSTGRES_PWD TEMPORAL_BROADCAST_ADDRESS
exec /etc/temporal/entrypoint.sh "$@"
