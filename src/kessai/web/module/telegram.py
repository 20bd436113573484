"""A decoded telegram as every module-face handler takes it, and the reply it gives back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kessai.core.context import Core, MerchantRef
from kessai.core.payments.refs import PaymentRef

Reply = list[tuple[str, str]] | bytes


@dataclass(frozen=True, slots=True)
class Telegram:
    kind: str
    merchant: MerchantRef
    fields: Mapping[str, str]  # validated values
    raw: Mapping[str, str]  # as decoded, to tell "sent empty" from "not sent" (116)
    # Where buyers reach Kessai's pages (KESSAI_PUBLIC_URL or this server), worked out only by the
    # kinds that hand out a URL: parsing the request's URL cost 2 % of a card telegram's CPU.
    origin: Callable[[], str] = str

    @property
    def base_url(self) -> str:
        return self.origin()

    def ref(self) -> PaymentRef:
        return PaymentRef(
            payment_id=self.fields["payment_id"], trading_id=self.fields["trading_id"]
        )


Handler = Callable[[Core, Telegram], Reply]
