"""eventstore/quick_release.py mirrors part of asyncpg's release: this fails as soon as the
installed asyncpg's code differs from what was mirrored, so that the module is read again
(the pool itself then falls back to asyncpg's own release)."""

from __future__ import annotations

import asyncpg

from eventstore.quick_release import MIRRORED, installed_digests, mirrors_installed_asyncpg


def test_the_mirrored_asyncpg_code_is_the_installed_one() -> None:
    changed = {
        name: digest for name, digest in installed_digests().items() if digest != MIRRORED[name]
    }
    assert not changed, (
        f"asyncpg {asyncpg.__version__} changed {sorted(changed)}: read them against "
        "QuickReleasePool.release in eventstore/quick_release.py, then record the new digests "
        f"in MIRRORED: {changed}"
    )
    assert mirrors_installed_asyncpg()
