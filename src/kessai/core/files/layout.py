"""What a file type accepts (`FileLayout`) and what one line came to (`LineOutcome`): plain values
shared by the core's file commands and the face that knows each telegram's fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileLayout:
    """The columns a file type's header may name: `required` must be there, `refused` maps a
    column a file may never carry (security codes, 3-D Secure) to the reason people read."""

    kind: str  # the telegram kind each line is run as
    columns: frozenset[str]
    required: frozenset[str]
    refused: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LineOutcome:
    """One line's answer, as its data record in the result file shows it."""

    result: str  # "0" ok, "1" error (the telegram's own result)
    response_code: str = ""
    response_detail: str = ""
    payment_id: str = ""
    customer_card_id: str = ""
    # The file type's own result columns, after the common ones (024: what the refresh did).
    columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result == "0"
