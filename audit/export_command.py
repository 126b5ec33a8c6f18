"""`temaplan audit export`: one plan as JSON lines (with its checkpoint and inclusion
proof), CSV or the report; every plan into a directory or one tar file. Refused when the
record does not verify."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from audit.export_all import PlanExport
from audit.log_check import LogCheck
from audit.state_command import _warn, log_text, record_problems
from catalogue import DEFAULT_LANGUAGE, Language, formats, t
from eventstore import EventStore
from eventstore.log import StoredCheckpoint
from runtime.progress import progress


async def export(
    store: EventStore,
    plan_id: str,
    fmt: str,
    out_path: Path,
    language: Language = DEFAULT_LANGUAGE,
    *,
    log: LogCheck | None = None,
    separator: str = "semicolon",
    bundle: bool = False,
) -> int:
    """One plan's export; what it says (and the report's words) in ``language``."""
    lang = language
    if bundle:
        print(t("export.bundle_needs_all", lang), file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    total, _ = await store.head(plan_id)
    if not total:
        print(t("export.no_events", lang, plan_id=plan_id), file=sys.stderr)
        return 1
    problems = await record_problems(store, plan_id, log, lang)
    _warn(plan_id, problems, t("export.nothing_written", lang), log, lang)
    if problems:
        return 1
    bar = t("progress.exporting", lang, plan_id=plan_id)
    count = formats.counter(lang)
    if fmt == "jsonl":
        from audit.export import export_jsonl

        with progress(bar, total, t("progress.events", lang), number=count) as report:
            manifest = await export_jsonl(
                store, plan_id, out_path, exported_at=now, progress=report
            )
        done = t(
            "export.jsonl_done",
            lang,
            count=formats.number(manifest.event_count, lang),
            plan_id=plan_id,
            path=out_path,
            hash=manifest.last_hash,
        )
        print(done)
        from audit.log_export import attach_checkpoint

        [last] = await store.read(plan_id, from_version=manifest.last_version)
        attached = await attach_checkpoint(store.pool, out_path, last.event_id, language=lang)
        print(
            t("export.checkpoint_beside", lang, path=attached)
            if attached
            else t("export.no_checkpoint", lang)
        )
    elif fmt == "csv":
        from audit.export import export_csv

        with progress(bar, None, t("progress.decisions", lang), number=count) as report:
            rows = await export_csv(store, plan_id, out_path, progress=report, separator=separator)
        done = t(
            "export.csv_done",
            lang,
            count=formats.number(rows, lang),
            plan_id=plan_id,
            path=out_path,
        )
        print(done)
    else:
        from audit.report import export_html, export_pdf
        from eventstore.log import MerkleLog

        merkle_log = MerkleLog(store.pool)
        checkpoint = await merkle_log.latest_cosigned() or await merkle_log.latest_checkpoint()
        write = export_pdf if fmt == "pdf" else export_html
        await write(
            store,
            plan_id,
            out_path,
            language=lang,
            generated_at=now,
            checkpoint=checkpoint.with_cosignatures() if checkpoint else None,
        )
        print(t("export.report_done", lang, language=lang, plan_id=plan_id, path=out_path))
    return 0


async def export_all(
    store: EventStore,
    fmt: str,
    out_dir: Path,
    *,
    log: LogCheck | None = None,
    bundle: bool = False,
    language: Language = DEFAULT_LANGUAGE,
) -> int:
    """Every plan's JSON lines export into ``out_dir`` in one read, each plan's files as
    ``export`` writes them (with the checkpoint and inclusion proof beside them); with
    ``bundle``, the same files as the members of one tar file ``out_dir``.
    Refused, nothing written, when any plan's chain or the log does not verify. What it
    says in ``language``."""
    lang = language
    if fmt != "jsonl":
        print(t("export.all_jsonl_only", lang), file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    plans = await store.stream_ids()
    if not plans:
        print(t("export.no_plans", lang), file=sys.stderr)
        return 1
    broken = [r for r in await store.verify_streams(plans) if not r.ok]
    problems = [
        t("export.plan_broken", lang, plan=r.stream_id, version=r.broken_version) for r in broken
    ]
    if log is not None and log.verdict == "broken":
        problems.append(log_text(log, lang))
    if problems:
        print(
            t("export.all_refused", lang) + "\n" + "".join(f"  - {p}\n" for p in problems),
            file=sys.stderr,
        )
        return 1
    if log is not None and log.verdict == "unchecked":
        print(t("log_check.note", lang, note=log_text(log, lang)), file=sys.stderr)
    from audit.log_export import checkpoint_to_attach

    # One checkpoint for the whole export, read once: every plan is proved against it.
    checkpoint = await checkpoint_to_attach(store.pool)
    bar = t("progress.exporting_all", lang)
    unit = t("progress.events", lang)
    with progress(bar, None, unit, number=formats.counter(lang)) as report:
        if bundle:
            exported, attached = await _bundle(
                store, out_dir, now=now, plans=plans, report=report, checkpoint=checkpoint
            )
        else:
            exported, attached = await _directory(
                store, out_dir, now=now, plans=plans, report=report, checkpoint=checkpoint
            )
    events = sum(r.manifest.event_count for r in exported)
    beside = (
        t("export.checkpoints_beside", lang, count=formats.number(attached, lang))
        if attached
        else t("export.no_checkpoint", lang)
    )
    done = t(
        "export.all_done",
        lang,
        events=formats.number(events, lang),
        plans=formats.number(len(exported), lang),
        path=out_dir,
        checkpoints=beside,
    )
    print(done)
    return 0


async def _directory(
    store: EventStore,
    out_dir: Path,
    *,
    now: datetime,
    plans: list[str],
    report: Callable[[int], None] | None,
    checkpoint: StoredCheckpoint | None,
) -> tuple[list[PlanExport], int]:
    from audit.export import export_jsonl_all
    from audit.log_export import attach_checkpoint

    exported = await export_jsonl_all(
        store, out_dir, exported_at=now, plan_ids=plans, progress=report
    )
    attached = 0
    for result in exported:
        attached += (
            await attach_checkpoint(store.pool, result.path, result.last_event_id, checkpoint)
            is not None
        )
    return exported, attached


async def _bundle(
    store: EventStore,
    out: Path,
    *,
    now: datetime,
    plans: list[str],
    report: Callable[[int], None] | None,
    checkpoint: StoredCheckpoint | None,
) -> tuple[list[PlanExport], int]:
    """The plans' files as one tar file; each plan's checkpoint and proof are members
    too, named as the directory export names them."""
    from audit.export_bundle import export_jsonl_bundle
    from audit.log_export import checkpoint_files

    async def proofs(exported: list[PlanExport]) -> dict[str, bytes]:
        members: dict[str, bytes] = {}
        if checkpoint is None:
            return members
        for result in exported:
            files = await checkpoint_files(store.pool, result.last_event_id, checkpoint)
            members.update({result.path.name + suffix: data for suffix, data in files.items()})
        return members

    exported = await export_jsonl_bundle(
        store, out, exported_at=now, plan_ids=plans, progress=report, extra=proofs
    )
    return exported, len(exported) if checkpoint is not None else 0
