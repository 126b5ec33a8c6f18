"""`temaplan keys`, `temaplan checkpoint`, `temaplan witness` and the Merkle log's audit
commands (`audit prove`, `audit consistency`, `audit checkpoint`, `audit check-proof`,
`audit export-log`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from audit.proofs import ProofError, check_inclusion, consistency_document, inclusion_document
from catalogue import Language, formats, t
from domain.checkpoints import (
    COSIGNATURE_V1,
    ED25519,
    NoteError,
    SigningKey,
    VerifierKey,
    write_signing_key,
)
from eventstore.log import MerkleLog
from runtime.settings import Settings

AUDIT_COMMANDS = frozenset(
    {"prove", "consistency", "checkpoint", "check-proof", "export-log", "verify-log"}
)


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser("keys", help="the log's signing key and witnesses' keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser(
        "generate", help="make an Ed25519 key: OUT (private, mode 600) and OUT.pub (vkey)"
    )
    generate.add_argument("--name", required=True, help="e.g. bolig.kommune.no/temaplan")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument(
        "--witness", action="store_true", help="a witness's cosignature key (type 0x04)"
    )
    sub.add_parser(
        "checkpoint", help="build the log's tree and sign a checkpoint now (TEMAPLAN_LOG_KEY_FILE)"
    )
    witness = sub.add_parser(
        "witness", help="auditors: check the log's newest checkpoint is consistent, co-sign it"
    )
    witness.add_argument("--api", required=True, help="the temaplan API, e.g. https://plan.example")
    witness.add_argument("--log-key", required=True, help="the log's verifier key (vkey)")
    witness.add_argument("--key", type=Path, required=True, help="this witness's key file")
    witness.add_argument("--state", type=Path, required=True, help="this witness's state file")
    witness.add_argument("--token", help="an auditor's token, to hand the cosignature back")


def add_audit_parsers(audit_sub: Any) -> None:
    prove = audit_sub.add_parser("prove", help="inclusion proof of an event against a checkpoint")
    prove.add_argument("event_id", type=UUID)
    prove.add_argument("--size", type=int, help="a checkpoint's tree size (default: the latest)")
    consistency = audit_sub.add_parser(
        "consistency", help="consistency proof between two checkpoints (tree sizes)"
    )
    consistency.add_argument("old", type=int)
    consistency.add_argument("new", type=int)
    checkpoint = audit_sub.add_parser("checkpoint", help="the latest checkpoint, co-signatures too")
    checkpoint.add_argument("--size", type=int)
    check = audit_sub.add_parser(
        "check-proof", help="check a saved inclusion proof with the log's public key"
    )
    check.add_argument("proof", type=Path)
    check.add_argument("--log-key", required=True, help="the log's verifier key (vkey) or a file")
    export = audit_sub.add_parser(
        "export-log", help="every event in log order, with checkpoints, for verify_export.py"
    )
    export.add_argument("--out", type=Path, required=True)
    verify = audit_sub.add_parser(
        "verify-log",
        help="the whole log against its signed checkpoint and checkpoints held independently",
    )
    verify.add_argument("--log-key", required=True, help="the log's verifier key (vkey) or a file")
    verify.add_argument("--witness-key", action="append", default=[], help="must have co-signed")
    verify.add_argument(
        "--checkpoint", action="append", default=[], type=Path, help="a checkpoint held elsewhere"
    )


def _vkey(text: str) -> VerifierKey:
    path = Path(text)
    if "+" not in text and path.exists():
        text = path.read_text("ascii")
    return VerifierKey.parse(text)


def generate_key(args: argparse.Namespace) -> int:
    lang: Language = args.lang
    try:
        key = SigningKey.generate(args.name, COSIGNATURE_V1 if args.witness else ED25519)
        write_signing_key(key, args.out)
    except NoteError as exc:
        print(exc, file=sys.stderr)
        return 2
    except FileExistsError:
        print(t("cli.key_exists", lang, path=args.out), file=sys.stderr)
        return 2
    public = args.out.with_name(args.out.name + ".pub")
    public.write_text(key.verifier.vkey() + "\n", "ascii")
    print(t("cli.key_private", lang, path=args.out), file=sys.stderr)
    print(t("cli.key_public", lang, path=public), file=sys.stderr)
    print(key.verifier.vkey())
    return 0


async def sign_now(settings: Settings, lang: Language) -> int:
    from audit.checkpointer import Checkpointer, signing_key
    from runtime.database import migrated_pool

    try:
        key = signing_key(settings)
    except NoteError as exc:
        print(exc, file=sys.stderr)
        return 2
    if key is None:
        print(t("cli.log_key_needed", lang), file=sys.stderr)
        return 2
    async with migrated_pool(settings) as pool:
        checkpoint = await Checkpointer(pool, key).checkpoint_now()
    assert checkpoint is not None
    print(checkpoint.with_cosignatures(), end="")
    return 0


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    from runtime.database import read_only_pool

    async with read_only_pool(settings) as pool:
        return await run_audit(pool, args)


async def run_audit(pool: asyncpg.Pool, args: argparse.Namespace) -> int:
    log = MerkleLog(pool)
    command = args.audit_command
    lang: Language = args.lang
    try:
        if command == "prove":
            _print_json(await inclusion_document(log, args.event_id, args.size))
        elif command == "consistency":
            _print_json(await consistency_document(log, args.old, args.new))
        elif command == "checkpoint":
            found = (
                await log.checkpoint(args.size)
                if args.size is not None
                else await log.latest_checkpoint()
            )
            if found is None:
                print(t("cli.no_checkpoint", lang), file=sys.stderr)
                return 1
            print(found.with_cosignatures(), end="")
        elif command == "check-proof":
            document = json.loads(args.proof.read_text("utf-8"))
            said = check_inclusion(document, _vkey(args.log_key))
            print(t("cli.proof_ok", lang, message=said))
        elif command == "verify-log":
            return await verify_log(pool, args)
        else:
            from audit.log_export import export_log

            manifest = await export_log(pool, args.out)
            said = t(
                "cli.log_exported",
                lang,
                events=formats.number(manifest["event_count"], lang),
                plans=formats.number(manifest["stream_count"], lang),
                size=manifest["tree_size"],
                path=args.out,
            )
            print(said)
    except (ProofError, NoteError, ValueError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def witness(args: argparse.Namespace) -> int:
    from audit.witness import EXIT_ERROR, EXIT_INCONSISTENT, Inconsistent, Witness, WitnessError
    from domain.checkpoints import load_signing_key

    try:
        runner = Witness(args.api, _vkey(args.log_key), load_signing_key(args.key), args.state)
        print(runner.run(args.token))
    except Inconsistent as finding:
        folder = runner.keep_evidence(finding)
        print(finding, file=sys.stderr)
        print(t("cli.evidence_kept", args.lang, folder=folder), file=sys.stderr)
        return EXIT_INCONSISTENT
    except (WitnessError, NoteError, OSError) as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0


async def verify_log(pool: asyncpg.Pool, args: argparse.Namespace) -> int:
    """The store's log checked exactly as an auditor checks an export of it."""
    from audit.log_check import check_log
    from audit.state_command import log_text

    lang: Language = args.lang
    result = await check_log(pool, args.log_key, args.witness_key, args.checkpoint)
    if result.verdict != "ok":
        print(log_text(result, lang), file=sys.stderr)
        return 1
    print(t("cli.log_ok", lang, message=result.message))
    return 0
