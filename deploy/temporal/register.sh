#!/bin/sh
# One-shot, before any worker starts: the namespace and temaplan's custom search
# attributes (domain/search_attributes.py) on the Temporal frontend at
# $TEMPORAL_ADDRESS. Idempotent. The compose stack runs it in the admin-tools image;
# tests/integration/test_compose_topology.py runs it against the dev server.
set -eu
namespace="${TEMPORAL_NAMESPACE:-default}"
if ! temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
    temporal operator namespace create --namespace "$namespace" --retention 30d
fi
for attribute in TemaplanPhase=Keyword TemaplanMunicipality=Keyword TemaplanAwaitedRoles=KeywordList; do
    name="${attribute%%=*}"
    type="${attribute#*=}"
    if ! temporal operator search-attribute list --namespace "$namespace" | grep -qw "$name"; then
        temporal operator search-attribute create --namespace "$namespace" \
            --name "$name" --type "$type"
    fi
done
temporal operator search-attribute list --namespace "$namespace"
