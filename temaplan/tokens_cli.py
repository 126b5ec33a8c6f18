"""`temaplan tokens ...`: administrators issue, revoke and list personal access tokens."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from runtime.database import migrated_pool
from runtime.formatting import oslo
from runtime.settings import Settings


def add_parser(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="administrators: personal access tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_sub.add_parser(
        "issue", help="issue a token for a person (a participant id in the plans)"
    )
    issue.add_argument("person_id")
    kind = issue.add_mutually_exclusive_group()
    kind.add_argument(
        "--admin", action="store_true", help="an administrator: also starts plans, sees all"
    )
    kind.add_argument("--auditor", action="store_true", help="reads every plan, changes nothing")
    issue.add_argument("--label", default="", help="what the token is for")
    issue.add_argument(
        "--municipality",
        action="append",
        metavar="NNNN",
        help="a municipality (kommunenummer) the person belongs to, repeatable; "
        "without it the token holds for every municipality on this deployment",
    )
    revoke = tokens_sub.add_parser("revoke", help="revoke a token, or every token of a person")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("token_id", nargs="?", help="the 12-digit id shown by `tokens list`")
    which.add_argument("--person", help="revoke all of this person's tokens")
    listing = tokens_sub.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--person")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from api.tokens import Kind, TokenStore

    async with migrated_pool(settings) as pool:
        store = TokenStore(pool)
        if args.tokens_command == "issue":
            kind: Kind = "admin" if args.admin else "auditor" if args.auditor else "person"
            try:
                issued = await store.issue(
                    args.person_id,
                    kind,
                    args.label,
                    os.environ.get("USER", "cli"),
                    municipalities=args.municipality,
                )
            except ValueError as exc:
                print(exc, file=sys.stderr)
                return 2
            print(
                f"token {issued.info.token_id} for {issued.info.person_id} ({kind}, "
                f"{_municipalities(issued.info.municipalities)}); "
                "shown once, only its hash is kept:",
                file=sys.stderr,
            )
            print(issued.token)
            return 0
        if args.tokens_command == "revoke":
            if args.person:
                from eventstore.oidc_sessions import OidcSessions

                count = await store.revoke_person(args.person)
                ended = await OidcSessions(pool).close_person(args.person)
                print(
                    f"revoked {count} token(s) of {args.person}; ended {ended} session(s) "
                    "opened with the identity provider"
                )
                return 0 if count or ended else 1
            if await store.revoke(args.token_id):
                print(f"revoked token {args.token_id}")
                return 0
            print(f"no active token {args.token_id}", file=sys.stderr)
            return 1
        print(
            f"{'token id':<13} {'person':<24} {'kind':<8} {'municipalities':<20} "
            f"{'issued (Europe/Oslo)':<25} state"
        )
        for info in await store.list(args.person):
            state = f"revoked {oslo(info.revoked_at)}" if info.revoked_at else "active"
            print(
                f"{info.token_id:<13} {info.person_id:<24} {info.kind:<8} "
                f"{','.join(info.municipalities or ('all',)):<20} "
                f"{oslo(info.issued_at):<25} {state}"
            )
        return 0


def _municipalities(numbers: tuple[str, ...] | None) -> str:
    return "municipality " + ", ".join(numbers) if numbers else "every municipality"
