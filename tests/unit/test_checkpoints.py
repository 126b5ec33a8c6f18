"""Signed checkpoints and cosignatures in the C2SP formats: layout to the byte, key ids
by the spec's formula, signatures that verify with openssl as well, and refusals."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from domain import checkpoints as cp

ROOT = hashlib.sha256(b"root").digest()


def test_checkpoint_note_layout_and_key_id() -> None:
    key = cp.SigningKey.generate("bolig.kommune.example/temaplan")
    checkpoint = cp.sign_checkpoint(key, 42, ROOT)
    body = f"bolig.kommune.example/temaplan\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert checkpoint.body == body
    note = checkpoint.note
    assert note.startswith(body + "\n\u2014 bolig.kommune.example/temaplan ")
    assert note.endswith("\n")
    public = key.verifier.public
    expected_id = hashlib.sha256(b"bolig.kommune.example/temaplan\n\x01" + public).digest()[:4]
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == expected_id
    assert len(raw) == 4 + 64
    vkey = key.verifier.vkey()
    assert vkey == (
        f"bolig.kommune.example/temaplan+{expected_id.hex()}+"
        + base64.b64encode(b"\x01" + public).decode()
    )
    parsed = cp.parse_checkpoint(note)
    assert (parsed.origin, parsed.tree_size, parsed.root_hash) == (key.name, 42, ROOT)
    cp.verify_checkpoint(parsed, cp.VerifierKey.parse(vkey))
    assert cp.SigningKey.parse(key.text()) == key


def test_a_changed_checkpoint_or_another_key_is_refused() -> None:
    key = cp.SigningKey.generate("log.example")
    note = cp.sign_checkpoint(key, 7, ROOT).note
    forged = note.replace("\n7\n", "\n8\n", 1)
    with pytest.raises(cp.NoteError, match="does not verify"):
        cp.verify_checkpoint(cp.parse_checkpoint(forged), key.verifier)
    other = cp.SigningKey.generate("log.example")
    with pytest.raises(cp.NoteError, match=r"no signature by log\.example"):
        cp.verify_checkpoint(cp.parse_checkpoint(note), other.verifier)
    for bad in (note.replace("\n\n", "\n"), note.replace("\u2014", "-"), note[:-1]):
        with pytest.raises(cp.NoteError):
            cp.parse_checkpoint(bad)


def test_cosignature_per_tlog_cosignature_v1() -> None:
    log_key = cp.SigningKey.generate("log.example")
    witness = cp.SigningKey.generate("revisor.example/witness", cp.COSIGNATURE_V1)
    checkpoint = cp.sign_checkpoint(log_key, 3, ROOT)
    line = cp.cosign(checkpoint, witness, 1_700_000_000)
    raw = base64.b64decode(line.rsplit(" ", 1)[1])
    assert (
        raw[:4]
        == hashlib.sha256(b"revisor.example/witness\n\x04" + witness.verifier.public).digest()[:4]
    )
    assert struct.unpack(">Q", raw[4:12]) == (1_700_000_000,)
    message = b"cosignature/v1\ntime 1700000000\n" + checkpoint.body.encode()
    assert witness.verifier.verify(message, raw[12:])
    cosigned = cp.with_lines(checkpoint, [line])
    assert cp.verify_cosignature(cosigned, witness.verifier) == 1_700_000_000
    cp.verify_checkpoint(cosigned, log_key.verifier)
    with pytest.raises(cp.NoteError, match="no cosignature"):
        cp.verify_cosignature(checkpoint, witness.verifier)
    with pytest.raises(cp.NoteError, match="cosignature key"):
        cp.cosign(checkpoint, log_key, 1)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_checks_the_signature_by_hand(tmp_path: Path) -> None:
    """What docs/audit-format.md tells an auditor to do, done."""
    key = cp.SigningKey.generate("log.example")
    checkpoint = cp.sign_checkpoint(key, 5, ROOT)
    (tmp_path / "body").write_text(checkpoint.body)
    raw = base64.b64decode(checkpoint.note.rstrip("\n").rsplit(" ", 1)[1])
    (tmp_path / "sig").write_bytes(raw[4:])
    spki = bytes.fromhex("302a300506032b6570032100") + key.verifier.public
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(spki).decode()
        + "\n-----END PUBLIC KEY-----\n"
    )
    (tmp_path / "pub.pem").write_text(pem)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin"]
    ok = subprocess.run(
        [*command, "-in", "body", "-sigfile", "sig"], cwd=tmp_path, capture_output=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "body").write_text(checkpoint.body.replace("\n5\n", "\n6\n"))
    bad = subprocess.run(
        [*command, "-in", "body", "-sigfile", "sig"], cwd=tmp_path, capture_output=True, check=False
    )
    assert bad.returncode != 0


def test_key_text_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(cp.NoteError, match="PRIVATE\\+KEY"):
        cp.SigningKey.parse("nonsense")
    with pytest.raises(cp.NoteError, match="key name"):
        cp.SigningKey.generate("has space")
    missing = tmp_path / "none.key"
    with pytest.raises(cp.NoteError, match="cannot be read"):
        cp.load_signing_key(missing)
    key = cp.SigningKey.generate("log.example")
    cp.write_signing_key(key, tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert cp.load_signing_key(tmp_path / "k") == key
    with pytest.raises(FileExistsError):
        cp.write_signing_key(key, tmp_path / "k")
