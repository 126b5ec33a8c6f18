#!/bin/sh
# Fresh database passwords for docker-compose.yml in ./secrets (mode 600); existing ones
# are kept. The log's signing key and the front door's attestation key are made apart,
# by the project's own command:
#   temaplan keys generate --name plan.kommune.no/temaplan --out secrets/log_signing_key
#   temaplan keys generate --name plan.kommune.no/front-door --out secrets/front_door_key
set -eu
umask 077
mkdir -p secrets
for name in postgres_password events_owner_password events_app_password \
    events_auditor_password temporal_db_password; do
    if [ ! -s "secrets/$name" ]; then
        head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 > "secrets/$name"
    fi
done
