"""The log's Merkle hashing against the RFC 6962 reference vectors (the ones
certificate-transparency-go and transparency-dev/merkle test with), and the stored-node
proofs against the RFC's recursive definitions for many tree sizes."""

from __future__ import annotations

import random

import pytest

from eventstore import merkle

# Leaves and root hashes for sizes 0..8 (RFC 6962 test data, as published by
# certificate-transparency-go and transparency-dev/merkle).
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
VECTOR_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
LEAVES = [merkle.leaf_hash(x) for x in VECTOR_LEAVES]


def _stored_nodes(leaves: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every complete aligned subtree of ``leaves``, as the log stores them."""
    nodes: dict[merkle.Node, bytes] = {}
    level, row = 0, list(leaves)
    while row:
        for i, h in enumerate(row):
            nodes[(level, i)] = h
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return nodes


def _proof(ranges: list[merkle.Range], nodes: dict[merkle.Node, bytes]) -> list[bytes]:
    return [merkle.range_hash(s, e, nodes) for s, e in ranges]


def test_roots_match_the_reference_vectors() -> None:
    nodes = _stored_nodes(LEAVES)
    for size, expected in enumerate(VECTOR_ROOTS):
        assert merkle.reference_root(LEAVES[:size]).hex() == expected
        assert merkle.range_hash(0, size, nodes).hex() == expected
        compact = merkle.CompactRange()
        for leaf in LEAVES[:size]:
            compact.append(leaf)
        assert compact.root().hex() == expected


def test_proofs_match_the_reference_vectors() -> None:
    nodes = _stored_nodes(LEAVES)
    for (index, size), expected in VECTOR_INCLUSION.items():
        proof = _proof(merkle.inclusion_ranges(index, size), nodes)
        assert [p.hex() for p in proof] == expected
        root = bytes.fromhex(VECTOR_ROOTS[size])
        assert merkle.verify_inclusion(index, size, LEAVES[index], proof, root)
    for (old, new), expected in VECTOR_CONSISTENCY.items():
        proof = _proof(merkle.consistency_ranges(old, new), nodes)
        assert [p.hex() for p in proof] == expected
        old_root, new_root = bytes.fromhex(VECTOR_ROOTS[old]), bytes.fromhex(VECTOR_ROOTS[new])
        assert merkle.verify_consistency(old, new, old_root, new_root, proof)
        assert not merkle.verify_consistency(old, new, new_root, old_root, proof)


def test_proofs_from_stored_nodes_equal_the_rfc_recursion_for_random_sizes() -> None:
    rng = random.Random(6962)
    leaves = [merkle.leaf_hash(rng.randbytes(32)) for _ in range(300)]
    nodes = _stored_nodes(leaves)
    sizes = [*range(1, 70), *rng.sample(range(70, 301), 40)]
    for size in sizes:
        root = merkle.reference_root(leaves[:size])
        assert merkle.range_hash(0, size, nodes) == root
        for index in {0, size - 1, *rng.sample(range(size), min(size, 8))}:
            proof = _proof(merkle.inclusion_ranges(index, size), nodes)
            assert proof == merkle.reference_inclusion(index, leaves[:size])
            assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
            assert not merkle.verify_inclusion(index, size, leaves[index - 1], proof, root) or (
                size == 1
            )
            if proof:
                bent = [*proof[:-1], bytes(32)]
                assert not merkle.verify_inclusion(index, size, leaves[index], bent, root)
                assert not merkle.verify_inclusion(index, size, leaves[index], proof[:-1], root)
        for old in {0, 1, size, *rng.sample(range(size + 1), min(size, 8))}:
            proof = _proof(merkle.consistency_ranges(old, size), nodes)
            assert proof == merkle.reference_consistency(old, leaves[:size])
            old_root = merkle.reference_root(leaves[:old])
            assert merkle.verify_consistency(old, size, old_root, root, proof)
            if 0 < old < size:
                assert not merkle.verify_consistency(old, size, old_root, root, proof[:-1])
                other = merkle.reference_root([*leaves[: old - 1], bytes(32)])
                assert not merkle.verify_consistency(old, size, other, root, proof)


def test_stored_nodes_needed_are_logarithmic() -> None:
    size = 1_000_000
    for index in (0, 1, 499_999, 999_999, 524_288):
        needed = merkle.nodes_for(merkle.inclusion_ranges(index, size))
        assert len(needed) <= 2 * size.bit_length()
    assert len(merkle.nodes_for(merkle.consistency_ranges(333_333, size))) <= 4 * 20


@pytest.mark.parametrize(("index", "size"), [(-1, 4), (4, 4), (0, 0)])
def test_inclusion_outside_the_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="is not in a tree"):
        merkle.inclusion_ranges(index, size)
