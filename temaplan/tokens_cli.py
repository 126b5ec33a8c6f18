"""`temaplan tokens ...`: administrators issue, revoke and list personal access tokens."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from catalogue import Language, t
from runtime.database import migrated_pool
from runtime.settings import Settings
from temaplan.cli_words import moment, named


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

    lang: Language = args.lang

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
            said = t(
                "cli.token_issued",
                lang,
                token_id=issued.info.token_id,
                person=issued.info.person_id,
                kind=t(f"cli.token_kind_{kind}", lang) if named(lang) else kind,
                municipalities=_municipalities(issued.info.municipalities, lang),
            )
            print(said, file=sys.stderr)
            print(issued.token)
            return 0
        if args.tokens_command == "revoke":
            if args.person:
                from eventstore.oidc_sessions import OidcSessions

                count = await store.revoke_person(args.person)
                ended = await OidcSessions(pool).close_person(args.person)
                print(
                    t(
                        "cli.tokens_revoked_person",
                        lang,
                        person=args.person,
                        count=count,
                        ended=ended,
                    )
                )
                return 0 if count or ended else 1
            if await store.revoke(args.token_id):
                print(t("cli.token_revoked", lang, token_id=args.token_id))
                return 0
            print(t("cli.token_not_active", lang, token_id=args.token_id), file=sys.stderr)
            return 1
        print(_row(*(t(f"cli.tokens_{column}", lang) for column in TOKEN_COLUMNS)))
        for info in await store.list(args.person):
            revoked = info.revoked_at
            print(
                _row(
                    info.token_id,
                    info.person_id,
                    t(f"cli.token_kind_{info.kind}", lang) if named(lang) else info.kind,
                    ",".join(info.municipalities or (t("cli.tokens_all", lang),)),
                    moment(info.issued_at, lang),
                    t("cli.token_revoked_at", lang, at=moment(revoked, lang))
                    if revoked
                    else t("cli.token_active", lang),
                )
            )
        return 0


TOKEN_COLUMNS = ("id", "person", "kind", "municipalities", "issued", "state")


WIDTHS = (13, 24, 13, 20, 26)


def _row(*cells: str) -> str:
    """Token id, person, kind, municipalities, issued, state."""
    *padded, state = cells
    return " ".join(c.ljust(w) for c, w in zip(padded, WIDTHS, strict=True)) + f" {state}"


def _municipalities(numbers: tuple[str, ...] | None, lang: Language) -> str:
    if numbers:
        return t("cli.token_municipalities", lang, numbers=", ".join(numbers))
    return t("cli.token_every_municipality", lang)
