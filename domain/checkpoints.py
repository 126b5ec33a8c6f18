"""Signed checkpoints of the Merkle log and witnesses' cosignatures, in the C2SP formats
that transparency tooling reads: tlog-checkpoint inside a signed note (c2sp.org/
signed-note, c2sp.org/tlog-checkpoint), cosignatures per c2sp.org/tlog-cosignature v1.

Keys use Go's golang.org/x/mod/sumdb/note text forms, so that its tools can use them:
a signer key is ``PRIVATE+KEY+<name>+<hex key id>+<base64(type || 32-byte seed)>`` and a
verifier key (vkey) ``<name>+<hex key id>+<base64(type || 32-byte public key)>``, where
type is 0x01 for the log's Ed25519 note signatures and 0x04 for a witness's Ed25519
cosignatures, and the key id is the first 4 bytes of SHA-256(name || 0x0A || type ||
public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "
_KEY_NAME = re.compile(r"[^\s+\u2014]+")
_MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A key, note or signature that is malformed or does not verify; says which."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not standard base64") from None


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise NoteError(
            f"key name {name!r} must be non-empty, without spaces, '+' or em dashes "
            "(e.g. bolig.kommune.no/temaplan)"
        )
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    kind: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([self.kind]) + self.public)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key has the form <name>+<hex key id>+<base64 key>")
        name, hex_id, material = parts
        _check_name(name)
        raw = _unb64(material, "the verifier key's key")
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(
                "the verifier key is not an Ed25519 key (type 0x01) or an Ed25519 "
                "cosignature key (type 0x04)"
            )
        key = cls(name, raw[0], raw[1:])
        if key.key_id.hex() != hex_id.lower():
            raise NoteError(f"the verifier key's id {hex_id} does not match its name and key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    name: str
    kind: int
    seed: bytes

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> VerifierKey:
        public = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return VerifierKey(self.name, self.kind, public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def text(self) -> str:
        ident = self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{ident}+{_b64(bytes([self.kind]) + self.seed)}"

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(_check_name(name), kind, seed)

    @classmethod
    def parse(cls, text: str, where: str = "the signing key") -> SigningKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError(
                f"{where} is not of the form PRIVATE+KEY+<name>+<hex key id>+<base64 key> "
                "(make one with `temaplan keys generate`)"
            )
        name, hex_id, material = parts[2:]
        _check_name(name)
        raw = _unb64(material, f"{where}'s key")
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(f"{where} is not an Ed25519 key of type 0x01 or 0x04")
        key = cls(name, raw[0], raw[1:])
        if key.verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"{where}: key id {hex_id} does not match its name and key")
        return key


def load_signing_key(path: Path) -> SigningKey:
    try:
        text = path.read_text("ascii")
    except OSError as exc:
        raise NoteError(f"signing key file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise NoteError(f"signing key file {path} is not a temaplan key (not ASCII)") from None
    return SigningKey.parse(text, f"signing key file {path}")


def write_signing_key(key: SigningKey, path: Path) -> None:
    """A new key file readable by its owner only; never overwrites one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key.text() + "\n")


def configured_signing_key(text: str | None, path: Path | None, variable: str) -> SigningKey | None:
    """A key set as text (in the environment variable ``variable``) or as a file; None
    when neither is set. A key that is set but unusable is a NoteError."""
    if text:
        return SigningKey.parse(text, variable)
    if path is not None:
        return load_signing_key(path)
    return None


def kept_signing_key(path: Path, name: str) -> tuple[SigningKey, bool]:
    """The key kept at ``path``, made there under ``name`` when there is none yet; and
    whether it was made now."""
    made = not path.exists()
    if made:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_signing_key(SigningKey.generate(name), path)
    return load_signing_key(path), made


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    body: str
    signatures: tuple[tuple[str, bytes], ...] = ()

    @property
    def note(self) -> str:
        """The whole signed note: body, blank line, signature lines."""
        lines = "".join(f"{DASH}{name} {_b64(sig)}\n" for name, sig in self.signatures)
        return f"{self.body}\n{lines}"

    def signed_by(self, key: VerifierKey) -> list[bytes]:
        """The signatures (after the key id) carried under ``key``'s name and id."""
        return [
            raw[4:] for name, raw in self.signatures if name == key.name and raw[:4] == key.key_id
        ]


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    return f"{_check_name(origin)}\n{tree_size}\n{_b64(root_hash)}\n"


def sign_checkpoint(key: SigningKey, tree_size: int, root_hash: bytes) -> Checkpoint:
    """A checkpoint whose origin is the key's name, signed by the key."""
    body = checkpoint_body(key.name, tree_size, root_hash)
    signature = key.verifier.key_id + key.sign(body.encode())
    return Checkpoint(key.name, tree_size, root_hash, body, ((key.name, signature),))


def parse_checkpoint(text: str, where: str = "checkpoint") -> Checkpoint:
    """Parse a signed checkpoint note. Signatures are not checked here."""
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError(f"{where} holds control characters")
    body, sep, sigs = text.rpartition("\n\n")
    if not sep:
        raise NoteError(f"{where} has no blank line before its signatures: not a signed note")
    body += "\n"
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"{where} needs an origin, a tree size and a root hash line")
    origin, size_text, root_text = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size_text):
        raise NoteError(f"{where}: tree size {size_text!r} is not a decimal without leading zeros")
    root = _unb64(root_text, f"{where}: the root hash")
    if len(root) != 32:
        raise NoteError(f"{where}: the root hash is not 32 bytes")
    signatures: list[tuple[str, bytes]] = []
    if not sigs.endswith("\n"):
        raise NoteError(f"{where} does not end with a line feed")
    for line in sigs[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError(f"{where}: signature line {line[:40]!r} does not start with '— '")
        name, space, encoded = line[len(DASH) :].rpartition(" ")
        if not space:
            raise NoteError(f"{where}: signature line {line[:40]!r} has no signature")
        raw = _unb64(encoded, f"{where}: the signature of {name}")
        if len(raw) < 5:
            raise NoteError(f"{where}: the signature of {name} is too short")
        signatures.append((_check_name(name), raw))
    if not signatures or len(signatures) > _MAX_SIGNATURES:
        raise NoteError(f"{where} carries {len(signatures)} signatures (1 to 100 allowed)")
    return Checkpoint(origin, int(size_text), root, body, tuple(signatures))


def verify_checkpoint(checkpoint: Checkpoint, log_key: VerifierKey) -> None:
    """The log's own signature: present under its key id and valid, and the origin is the
    key's name. Raises NoteError saying what is wrong."""
    if log_key.kind != ED25519:
        raise NoteError("the log's key must be a note signing key (type 0x01)")
    found = checkpoint.signed_by(log_key)
    if not found:
        raise NoteError(
            f"the checkpoint of tree size {checkpoint.tree_size} carries no signature by "
            f"{log_key.name} with key id {log_key.key_id.hex()}"
        )
    if not all(log_key.verify(checkpoint.body.encode(), sig) for sig in found):
        raise NoteError(
            f"the log's signature on the checkpoint of tree size {checkpoint.tree_size} "
            "does not verify: the checkpoint was changed or not signed by this key"
        )
    if checkpoint.origin != log_key.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {log_key.name!r}")


def cosignature_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint.body}".encode()


def cosign(checkpoint: Checkpoint, witness: SigningKey, timestamp: int) -> str:
    """The witness's cosignature line for ``checkpoint`` (without the line feed)."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError("a witness key must be a cosignature key (type 0x04)")
    signature = witness.sign(cosignature_message(checkpoint, timestamp))
    raw = witness.verifier.key_id + struct.pack(">Q", timestamp) + signature
    return f"{DASH}{witness.name} {_b64(raw)}"


def verify_cosignature(checkpoint: Checkpoint, witness: VerifierKey) -> int:
    """The time of a valid cosignature by ``witness`` on ``checkpoint``; raises NoteError
    when there is none or it does not verify."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError(f"witness key {witness.name} is not a cosignature key (type 0x04)")
    found = checkpoint.signed_by(witness)
    if not found:
        raise NoteError(
            f"the checkpoint of tree size {checkpoint.tree_size} carries no cosignature by "
            f"witness {witness.name}"
        )
    for raw in found:
        if len(raw) != 8 + 64:
            raise NoteError(f"the cosignature of {witness.name} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", raw[:8])
        if not witness.verify(cosignature_message(checkpoint, timestamp), raw[8:]):
            raise NoteError(
                f"the cosignature of {witness.name} on tree size {checkpoint.tree_size} "
                "does not verify"
            )
    (timestamp,) = struct.unpack(">Q", found[0][:8])
    return int(timestamp)


def with_lines(checkpoint: Checkpoint, lines: list[str]) -> Checkpoint:
    """``checkpoint`` with more signature lines (cosignatures) parsed in."""
    if not lines:
        return checkpoint
    return parse_checkpoint(checkpoint.note + "".join(line + "\n" for line in lines))
