"""The connection module (SDK) against `httpx.MockTransport`: what goes on the wire, how answers are
read (paygent-protocol.md §1.3), the safe retry of 020, and that card numbers never leak."""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.client import (
    AuthorizationResult,
    CardList,
    KessaiClient,
    KessaiClientError,
    Kind,
    ProtocolError,
    Response,
    TimeoutError,
    TransportError,
)
from kessai.client._parse import parse_key_values

PAN = "4111111111111111"
CVC = "123"
CARD_PATH = "/n/card/request"
INQUIRY_PATH = "/n/ref/paymentref"
OK_020 = (
    "\r\nresult=0\r\nresponse_code=\r\nresponse_detail=\r\npayment_id=1001\r\ntrading_id=T1\r\n"
)
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Gateway:
    """A scripted gateway: answers in order, records every request."""

    answers: list[Handler | httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def kinds(self) -> list[str]:
        return [form(request)["telegram_kind"] for request in self.requests]


def sjis(
    text: str, status: int = 200, content_type: str = "text/html; charset=Windows-31J"
) -> httpx.Response:
    return httpx.Response(
        status, content=text.encode("cp932"), headers={"content-type": content_type}
    )


def form(request: httpx.Request) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(
        request.content.decode("ascii"), keep_blank_values=True, encoding="cp932"
    )
    return dict(pairs)


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(answers=[])


@pytest.fixture
def client(gateway: Gateway) -> Iterator[KessaiClient]:
    with KessaiClient(
        "https://kessai.test",
        merchant_id=123,
        connect_id="shop",
        connect_password="s3cret",
        transport=httpx.MockTransport(gateway),
    ) as kessai:
        yield kessai


def authorize_by_card(client: KessaiClient, **options: object) -> AuthorizationResult:
    return client.authorize(
        trading_id="T1",
        payment_amount=1500,
        card_number=PAN,
        card_valid_term="1230",
        card_conf_number=CVC,
        **options,  # type: ignore[arg-type]
    )


# --- requests ------------------------------------------------------------------------------------


def test_authorize_posts_the_header_and_fields_as_windows_31j_form_to_the_card_path(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis(OK_020))

    authorize_by_card(client, payment_class=10, sales_mode=True)

    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.url.path == CARD_PATH
    assert (
        request.headers["content-type"] == "application/x-www-form-urlencoded; charset=Windows-31J"
    )
    assert form(request) == {
        "merchant_id": "123",
        "connect_id": "shop",
        "connect_password": "s3cret",
        "telegram_kind": "020",
        "telegram_version": "1.0",
        "trading_id": "T1",
        "payment_id": "",
        "payment_amount": "1500",
        "card_number": PAN,
        "card_valid_term": "1230",
        "card_conf_number": CVC,
        "payment_class": "10",
        "sales_mode": "1",
    }


def test_full_width_values_are_percent_encoded_as_windows_31j_bytes(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis("result=0\r\ncustomer_card_id=7\r\n"))

    client.register_card(customer_id="C1", card_token="tok", cardholder_name="山田 太郎")

    body = gateway.requests[0].content
    assert b"cardholder_name=%8ER%93c+%91%BE%98Y" in body  # 山田 太郎 in cp932, space as '+'


def test_a_value_windows_31j_cannot_hold_raises_value_error_naming_only_the_field(
    client: KessaiClient, gateway: Gateway
) -> None:
    with pytest.raises(ValueError, match="cardholder_name") as raised:
        client.register_card(customer_id="C1", card_number=PAN, cardholder_name="🙂")
    assert PAN not in _everything_printed(raised.value)
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("call", "kind", "path"),
    [
        (lambda c: c.void(payment_id=1), "021", CARD_PATH),
        (lambda c: c.capture(trading_id="T1"), "022", CARD_PATH),
        (lambda c: c.cancel_capture(payment_id="1"), "023", CARD_PATH),
        (lambda c: c.register_card(customer_id="C", card_token="t"), "025", CARD_PATH),
        (lambda c: c.delete_card(customer_id="C"), "026", CARD_PATH),
        (lambda c: c.correct_authorization(payment_id=1, payment_amount=900), "028", CARD_PATH),
        (lambda c: c.correct_capture(payment_id=1, payment_amount=900), "029", CARD_PATH),
        (lambda c: c.inquire(trading_id="T1"), "094", INQUIRY_PATH),
        (lambda c: c.update_card(customer_id="C", customer_card_id=5), "116", CARD_PATH),
    ],
)
def test_each_telegram_goes_to_the_path_of_its_kind(
    client: KessaiClient,
    gateway: Gateway,
    call: Callable[[KessaiClient], Response],
    kind: str,
    path: str,
) -> None:
    gateway.answers.append(sjis("result=0\r\n"))

    call(client)

    assert gateway.requests[0].url.path == path
    assert form(gateway.requests[0])["telegram_kind"] == kind


def test_list_cards_goes_to_the_card_path_not_the_reference_path(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis('"1","1","P026","none"\r\n"4","0"\r\n'))

    client.list_cards(customer_id="C1")

    assert gateway.requests[0].url.path == CARD_PATH


def test_follow_ups_send_int_ids_as_text_and_the_other_id_empty(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis("result=0\r\n"))

    client.correct_capture(payment_id=42, payment_amount=800, reduction_flag=True)

    fields = form(gateway.requests[0])
    assert (fields["payment_id"], fields["trading_id"]) == ("42", "")
    assert (fields["payment_amount"], fields["reduction_flag"]) == ("800", "1")


def test_a_follow_up_without_payment_id_or_trading_id_is_refused_before_sending(
    client: KessaiClient, gateway: Gateway
) -> None:
    with pytest.raises(ValueError, match="payment_id or trading_id"):
        client.capture()
    assert gateway.requests == []


def test_authorize_with_a_stored_card_sets_stock_card_mode(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis(OK_020))

    client.authorize(payment_amount=100, customer_id="C1", customer_card_id=9)

    fields = form(gateway.requests[0])
    assert (fields["stock_card_mode"], fields["customer_id"], fields["customer_card_id"]) == (
        "1",
        "C1",
        "9",
    )
    assert "card_number" not in fields


@pytest.mark.parametrize(
    "sources",
    [
        {},
        {"card_number": PAN, "ref_trading_id": "OLD"},
        {"card_number": PAN, "customer_id": "C1", "customer_card_id": 1},
        {"customer_id": "C1"},
    ],
)
def test_authorize_needs_exactly_one_card_source(
    client: KessaiClient, gateway: Gateway, sources: dict[str, object]
) -> None:
    with pytest.raises(ValueError) as raised:
        client.authorize(payment_amount=100, **sources)  # type: ignore[arg-type]
    assert PAN not in _everything_printed(raised.value)
    assert gateway.requests == []


def test_send_routes_a_utf8_kind_as_utf8(client: KessaiClient, gateway: Gateway) -> None:
    gateway.answers.append(
        httpx.Response(
            200,
            content="result=0\r\nname=山田\r\n".encode(),
            headers={"content-type": "text/html; charset=UTF-8"},
        )
    )

    response = client.send("450", {"cardholder": "山田"})

    request = gateway.requests[0]
    assert request.url.path == "/n/threeds/request"
    assert request.headers["content-type"].endswith("charset=UTF-8")
    assert b"cardholder=%E5%B1%B1%E7%94%B0" in request.content
    assert response.get("name") == "山田"


def test_send_refuses_a_kind_without_a_known_url(client: KessaiClient) -> None:
    with pytest.raises(ValueError, match="no URL"):
        client.send("999", {})


# --- answers -------------------------------------------------------------------------------------


def test_an_answer_with_leading_crlf_empty_fields_and_equals_in_values_is_read_literally(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(
        sjis(
            "\r\nresult=1\r\nresponse_code=P010\r\n"
            'response_detail="customer_tel"パラメータの値は不正な値です。\r\n'
            "payment_id=\r\nacq_name=ｶ-ﾄﾞ=A%20B\r\n\r\n"
        )
    )

    result = client.capture(payment_id=1)

    assert (result.ok, result.result, result.response_code) == (False, "1", "P010")
    assert result.response_detail == '"customer_tel"パラメータの値は不正な値です。'
    assert result.payment_id is None
    assert dict(result.fields) == {"payment_id": "", "acq_name": "ｶ-ﾄﾞ=A%20B"}


def test_out_acs_html_takes_the_rest_of_the_body_whatever_it_holds(
    client: KessaiClient, gateway: Gateway
) -> None:
    html = '<HTML>\r\n<form action="x?a=b">\r\nresult=0\r\n\r\n</HTML>'
    gateway.answers.append(sjis(f"result=7\r\npayment_id=5\r\nout_acs_html=ignored\r\n{html}\r\n"))

    result = authorize_by_card(client)

    assert result.result == "7"
    assert result.out_acs_html == html
    assert set(result.fields) == {"payment_id", "out_acs_html"}


def test_an_answer_without_result_is_a_protocol_error(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis("response_code=\r\npayment_id=1\r\n"))

    with pytest.raises(ProtocolError, match="no result") as raised:
        client.capture(payment_id=1)
    assert raised.value.kind == "022"


def test_an_http_status_other_than_200_is_a_protocol_error(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis("result=0\r\n", status=502))

    with pytest.raises(ProtocolError) as raised:
        authorize_by_card(client)
    assert raised.value.status_code == 502
    assert PAN not in _everything_printed(raised.value)


def test_list_cards_reads_quoted_csv_rows(client: KessaiClient, gateway: Gateway) -> None:
    header = (
        '"customer_id","customer_card_id","card_number","card_valid_term","card_last_use_date",'
        '"card_brand","cardholder_name","add_info1","add_info2","add_info3","add_info4",'
        '"card_expire_flag"'
    )
    gateway.answers.append(
        sjis(
            '"1","0","",""\r\n'
            f'"2",{header}\r\n'
            '"3","C1","11","************1111","1230","202601021530","VISA","TARO ""T"" YAMADA",'
            '"memo, with comma"," spaced ","","","0"\r\n'
            '"3","C1","12","************0004","0125","202512011200","MASTER","","","","","","1"\r\n'
            '"4","2"\r\n'
        )
    )

    cards = client.list_cards(customer_id="C1")

    assert isinstance(cards, CardList) and cards.ok
    first, second = cards.cards
    assert (first.customer_card_id, first.masked_card_number, first.card_brand) == (
        "11",
        "************1111",
        "VISA",
    )
    assert first.cardholder_name == 'TARO "T" YAMADA'
    assert (first.columns["add_info1"], first.columns["add_info2"]) == (
        "memo, with comma",
        " spaced ",
    )
    assert (first.expired, second.expired) == (False, True)


def test_list_cards_with_no_cards_is_an_answer_not_an_error(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(
        sjis(
            '"1","1","P026","指定した顧客ID、顧客カードIDのカード情報はありません。"\r\n"4","0"\r\n'
        )
    )

    cards = client.list_cards(customer_id="C1")

    assert (cards.ok, cards.response_code, cards.cards) == (False, "P026", ())


@pytest.mark.parametrize(
    "body",
    [
        '"1","0","",""\r\n"2","customer_id","customer_card_id"\r\n"3","C1"\r\n"4","1"\r\n',
        '"1","0","",""\r\n"2","customer_id"\r\n"3","C1"\r\n"3","C2"\r\n"4","1"\r\n',
        '"1","0","",""\r\n"2","customer_id"\r\n"3","C1"\r\n',
        '"2","customer_id"\r\n"3","C1"\r\n"4","1"\r\n',
        '"1","0","",""\r\n"2","customer_id"\r\n"3","C"1"\r\n"4","1"\r\n',
    ],
    ids=["column-count", "row-count", "no-trailer", "no-header", "bad-quote"],
)
def test_a_malformed_card_list_is_a_protocol_error(
    client: KessaiClient, gateway: Gateway, body: str
) -> None:
    gateway.answers.append(sjis(body))

    with pytest.raises(ProtocolError):
        client.list_cards(customer_id="C1")


_names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda n: not n.endswith("_html") and n not in {"result", "response_code", "response_detail"}
)
_values = st.text(alphabet=st.sampled_from("abcXYZ019=&%+ -_.,:;\"'<>/あ漢ｶﾞ　"), max_size=20)


@given(st.dictionaries(_names, _values, max_size=8))
def test_any_record_of_name_value_lines_reads_back_as_written(fields: dict[str, str]) -> None:
    body = "\r\nresult=0\r\n" + "".join(f"{n}={v}\r\n" for n, v in fields.items())

    parsed = parse_key_values(body.encode("cp932").decode("cp932"), kind="094")

    assert parsed.result == "0"
    assert parsed.fields == fields


# --- safe retry of 020 -----------------------------------------------------------------------------


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _inquiry(status: str, amount: int = 1500) -> httpx.Response:
    return sjis(
        "\r\nresult=0\r\nresponse_code=\r\nresponse_detail=\r\npayment_id=1001\r\ntrading_id=T1\r\n"
        f"payment_type=02\r\npayment_status={status}\r\npayment_amount={amount}\r\n"
        "masked_card_number=************1111\r\n"
    )


NOT_FOUND = sjis("result=1\r\nresponse_code=13001\r\nresponse_detail=not found\r\n")


def test_a_lost_020_whose_payment_exists_is_recovered_by_inquiry_without_a_second_020(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.extend([_timeout, _inquiry("20")])

    result = authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020", "094"]
    assert (result.ok, result.payment_id, result.recovered) == (True, "1001", True)
    assert result.masked_card_number == "************1111"
    inquiry = form(gateway.requests[1])
    assert (inquiry["trading_id"], inquiry["payment_type"]) == ("T1", "02")
    assert "kind='020'" in repr(result)


def test_an_amount_given_as_text_is_compared_as_a_number_when_recovering(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.extend([_timeout, _inquiry("20", amount=1500)])

    result = client.authorize(
        trading_id="T1", payment_amount="01500", card_token="tok", retry_on_timeout=True
    )

    assert (result.ok, result.recovered) == (True, True)


@pytest.mark.parametrize("status", ["40", "41"])
def test_a_lost_020_that_captured_is_recovered_too(
    client: KessaiClient, gateway: Gateway, status: str
) -> None:
    gateway.answers.extend([httpx.RemoteProtocolError("Server disconnected"), _inquiry(status)])

    result = authorize_by_card(client, retry_on_timeout=True, sales_mode=True)

    assert gateway.kinds() == ["020", "094"]
    assert result.ok and result.payment_status == status


def test_a_lost_020_with_no_payment_is_sent_exactly_once_more(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.extend([_timeout, NOT_FOUND, sjis(OK_020)])

    result = authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020", "094", "020"]
    assert (result.ok, result.payment_id, result.recovered) == (True, "1001", False)


def test_a_lost_020_whose_resend_is_lost_too_is_an_unknown_outcome_not_a_third_020(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.extend([_timeout, NOT_FOUND, _timeout])

    with pytest.raises(TimeoutError) as raised:
        authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020", "094", "020"]
    assert raised.value.outcome_unknown
    assert PAN not in _everything_printed(raised.value)


@pytest.mark.parametrize(
    "inquiry_answer",
    [
        _timeout,
        _inquiry("10"),
        _inquiry("20", amount=999),
        sjis("result=1\r\nresponse_code=2005\r\nresponse_detail=\r\n"),
    ],
    ids=["inquiry-times-out", "status-10-open", "other-amount", "several-payments"],
)
def test_when_the_inquiry_cannot_tell_the_outcome_is_unknown_and_020_is_not_resent(
    client: KessaiClient, gateway: Gateway, inquiry_answer: Handler | httpx.Response
) -> None:
    gateway.answers.extend([_timeout, inquiry_answer])

    with pytest.raises(TimeoutError, match="inquire") as raised:
        authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020", "094"]
    assert (raised.value.outcome_unknown, raised.value.kind) == (True, "020")
    assert PAN not in _everything_printed(raised.value)


def test_a_lost_020_that_was_declined_returns_the_decline_without_resending(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.extend([_timeout, _inquiry("11")])

    result = authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020", "094"]
    assert (result.ok, result.recovered, result.payment_status) == (False, True, "11")


def test_a_020_that_never_left_is_raised_as_is_without_inquiry(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(httpx.ConnectError("Connection refused"))

    with pytest.raises(TransportError) as raised:
        authorize_by_card(client, retry_on_timeout=True)

    assert gateway.kinds() == ["020"]
    assert raised.value.request_sent is False


def test_without_retry_a_timeout_is_raised_and_nothing_else_is_sent(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(_timeout)

    with pytest.raises(TimeoutError) as raised:
        authorize_by_card(client)

    assert gateway.kinds() == ["020"]
    assert raised.value.outcome_unknown
    assert isinstance(raised.value, KessaiClientError)


def test_retry_on_timeout_needs_a_trading_id(client: KessaiClient, gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="trading_id"):
        client.authorize(payment_amount=100, card_token="tok", retry_on_timeout=True)
    assert gateway.requests == []


# --- no card number anywhere -----------------------------------------------------------------------


def test_results_never_show_field_values_even_if_the_gateway_echoes_a_card_number(
    client: KessaiClient, gateway: Gateway
) -> None:
    gateway.answers.append(sjis(OK_020 + f"card_number={PAN}\r\n"))

    result = authorize_by_card(client)

    for text in (repr(result), str(result), f"{result}", repr(client)):
        assert PAN not in text
        assert "s3cret" not in text
    assert "payment_id='1001'" in repr(result)


@pytest.mark.parametrize(
    "failure",
    [
        _timeout,
        httpx.ReadError("connection reset"),
        httpx.ConnectTimeout("connect timed out"),
        sjis("oops", status=500),
        sjis("no result here\r\n"),
    ],
)
def test_exceptions_carry_the_kind_but_never_the_card_number(
    client: KessaiClient, gateway: Gateway, failure: Handler | httpx.Response | Exception
) -> None:
    gateway.answers.append(failure)

    with pytest.raises(KessaiClientError) as raised:
        authorize_by_card(client)

    assert raised.value.kind == Kind.AUTHORIZE
    assert str(raised.value).startswith("telegram 020: ")
    assert PAN not in _everything_printed(raised.value)
    assert CVC not in str(raised.value)


def _everything_printed(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.__cause__)


# --- independence --------------------------------------------------------------------------------


def test_the_sdk_imports_with_only_httpx_and_the_standard_library() -> None:
    blocked = [
        "sqlalchemy",
        "fastapi",
        "starlette",
        "pydantic",
        "uvicorn",
        "cryptography",
        "kessai.core",
        "kessai.web",
        "kessai.db",
        "kessai.config",
        "kessai.tls",
        "kessai.kit",
    ]
    code = (
        "import json, sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "import kessai.client\n"
        "loaded = [m for m, module in sys.modules.items() if module and m.startswith('kessai')]\n"
        "print(json.dumps(loaded))\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert all(name == "kessai" or name.startswith("kessai.client") for name in loaded)
