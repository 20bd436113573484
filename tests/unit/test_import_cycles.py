"""No two modules of `kessai` import each other, directly or around a ring (issue #18).

A ring means one of its modules holds something that belongs to a third: move that piece to where
both can import it. The graph is grimp's (import-linter's own), TYPE_CHECKING imports included,
since a ring that only type-checks still couples the two modules.
"""

from __future__ import annotations

import grimp

from tests.support.graphs import cycles


def test_cycle_finder_finds_a_ring_and_names_its_modules() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_kessai_has_no_import_cycles() -> None:
    graph = grimp.build_graph("kessai")
    edges = {
        module: {
            m for m in graph.find_modules_directly_imported_by(module) if m.startswith("kessai")
        }
        for module in graph.modules
        if module.startswith("kessai")
    }
    rings = cycles(edges)
    assert not rings, "import cycles in src/kessai:\n" + "\n".join(
        " -> ".join([*ring, ring[0]]) for ring in rings
    )
