"""Strongly connected components of a directed graph (Tarjan), for the import-cycle test."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field


def cycles(edges: Mapping[str, Set[str]]) -> list[list[str]]:
    """Every ring of two or more nodes, each sorted, the list sorted: stable for a test message."""
    search = _Tarjan(edges)
    for node in sorted(edges):
        if node not in search.index:
            search.visit(node)
    return sorted(search.found)


@dataclass
class _Tarjan:
    edges: Mapping[str, Set[str]]
    index: dict[str, int] = field(default_factory=dict)
    low: dict[str, int] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    found: list[list[str]] = field(default_factory=list)

    def visit(self, node: str) -> None:
        # An import graph is a few hundred modules deep at most: recursion is fine.
        self.index[node] = self.low[node] = len(self.index)
        self.stack.append(node)
        for child in sorted(self.edges.get(node, ())):
            if child not in self.index:
                self.visit(child)
                self.low[node] = min(self.low[node], self.low[child])
            elif child in self.stack:
                self.low[node] = min(self.low[node], self.index[child])
        if self.low[node] == self.index[node]:
            self._pop_ring(node)

    def _pop_ring(self, root: str) -> None:
        ring = []
        while True:
            member = self.stack.pop()
            ring.append(member)
            if member == root:
                break
        if len(ring) > 1:
            self.found.append(sorted(ring))
