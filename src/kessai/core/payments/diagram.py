"""Render the card state table as a Mermaid diagram and a Markdown table (docs/dev/card-states.md).

`python -m kessai.core.payments.diagram > docs/dev/card-states.md`; a test keeps the file
in step with the table.
"""

from __future__ import annotations

import sys

from kessai.core.payments.card.states import (
    EXPIRED,
    REPEATS,
    STATUS_NAMES,
    TRANSITIONS,
    CardStatus,
)


def render() -> str:
    lines = [
        "# Card payment statuses",
        "",
        "Generated from `src/kessai/core/payments/card/states.py` by",
        "`python -m kessai.core.payments.diagram`; do not edit by hand.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        "    [*] --> s10",
    ]
    for (status, operation), rule in TRANSITIONS.items():
        lines.append(f"    s{status.value} --> s{rule.on_success.value}: {operation.value}")
        if rule.on_decline != rule.on_success and rule.on_decline != status:
            lines.append(
                f"    s{status.value} --> s{rule.on_decline.value}: {operation.value} declined"
            )
    lines += [f"    s{s.value}: {s.value} {STATUS_NAMES[s]}" for s in CardStatus]
    lines += [
        "```",
        "",
        "| status | operation | succeeded | declined |",
        "| --- | --- | --- | --- |",
    ]
    for (status, operation), rule in TRANSITIONS.items():
        lines.append(
            f"| {status.value} {STATUS_NAMES[status]} | {operation.value} "
            f"| {rule.on_success.value} | {rule.on_decline.value} |"
        )
    lines += [
        "",
        "Answered `result=0`, nothing changed: " + _pairs(REPEATS) + ".",
        "",
        "Answered `2007`: " + _pairs(EXPIRED) + ".",
        "",
        "Every other pair is refused with `2004` and changes nothing.",
        "",
    ]
    return "\n".join(lines)


def _pairs(pairs: frozenset[tuple[CardStatus, object]]) -> str:
    return ", ".join(
        sorted(f"{op.value} on {status.value}" for status, op in pairs)  # type: ignore[attr-defined]
    )


if __name__ == "__main__":
    sys.stdout.write(render())
