"""RFC 9162 (Certificate Transparency v2, same hashing as RFC 6962) Merkle tree hashing,
proofs and their verification, standard library only.

The log stores the hash of every *complete, aligned* subtree it has built: node (level,
index) covers leaves [index * 2**level, (index + 1) * 2**level). Any subtree the RFC's
recursion names, [start, end), is either such a node or splits into O(log n) of them
(``range_nodes``), so a root or a proof needs O(log n) stored nodes whatever the size.
The reference functions at the end work on a plain list of leaf hashes; tests hold the
stored-node functions to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

HASH_SIZE = 32
# The root of the empty tree: SHA-256 of nothing (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
Range = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf_hash(event_hash_hex: str) -> bytes:
    """The log's leaf for an event: the leaf input is the 32 raw bytes of the event's
    chain hash (docs/audit-format.md, "The Merkle log")."""
    return leaf_hash(bytes.fromhex(event_hash_hex))


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2): where the RFC splits."""
    return 1 << ((size - 1).bit_length() - 1)


def _is_node(start: int, end: int) -> int | None:
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return size.bit_length() - 1
    return None


def range_nodes(start: int, end: int) -> list[Node]:
    """The stored nodes MTH(D[start:end]) is made of, for the ranges the RFC's recursion
    produces (start is a multiple of the power of two at or above end - start)."""
    if end <= start:
        return []
    level = _is_node(start, end)
    if level is not None:
        return [(level, start >> level)]
    k = split_point(end - start)
    return range_nodes(start, start + k) + range_nodes(start + k, end)


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the stored nodes that ``range_nodes`` names."""
    if end <= start:
        return EMPTY_ROOT
    level = _is_node(start, end)
    if level is not None:
        return nodes[(level, start >> level)]
    k = split_point(end - start)
    return node_hash(range_hash(start, start + k, nodes), range_hash(start + k, end, nodes))


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes make the inclusion proof of leaf ``index`` in a tree of
    ``size`` leaves, in the RFC's order (next to the leaf first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()
    return path


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes make the consistency proof from tree size ``old`` to
    ``new`` (RFC 9162 section 2.1.4.1, SUBPROOF), in the RFC's order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    proof: list[Range] = []
    start, end, complete = 0, new, True
    m = old
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        proof.append((start, end))
    proof.reverse()
    return proof


def nodes_for(ranges: Sequence[Range]) -> set[Node]:
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(range_nodes(start, end))
    return needed


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root that ``proof`` gives for ``leaf`` at ``index`` (RFC 9162 section
    2.1.3.2), or None when the proof cannot be one for that place in that size."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2; sizes equal need an empty proof and equal roots, and
    every tree is consistent with the empty one."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof or any(len(c) != HASH_SIZE for c in proof):
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class CompactRange:
    """The root of a growing tree in O(log n) memory: the hashes of the complete
    subtrees that make up [0, size), largest first. Verifiers feed leaves one by one."""

    __slots__ = ("hashes", "size")

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        h = leaf
        size = self.size
        while size & 1:
            h = node_hash(self.hashes.pop(), h)
            size >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h


# The reference: the RFC's recursive definitions over a list of leaf hashes, as written.


def reference_root(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = split_point(n)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def reference_inclusion(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n <= 1:
        return []
    k = split_point(n)
    if index < k:
        return [*reference_inclusion(index, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_inclusion(index - k, leaves[k:]), reference_root(leaves[:k])]


def reference_consistency(old: int, leaves: Sequence[bytes]) -> list[bytes]:
    if old in (0, len(leaves)):
        return []

    def subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [reference_root(d)]
        k = split_point(n)
        if m <= k:
            return [*subproof(m, d[:k], complete), reference_root(d[k:])]
        return [*subproof(m - k, d[k:], False), reference_root(d[:k])]

    return subproof(old, leaves, True)
