"""The card telegrams' fields as data (spec §1.2, §1.5), and the path of each telegram kind (§1.1).

`REQUEST_SPECS[kind]` is the whole request of a kind, common header first, ready for
`fields.validate`. `RESPONSE_FIELDS[kind]` lists the documented reply fields after `result`/
`response_code`/`response_detail`; PAYGENT always sends every one of them, empty when it has no
value. Byte limits the sources do not give (marked "no documented limit") are generous guesses,
so that real clients pass.
"""

from __future__ import annotations

from kessai.web.module.fields import FieldKind, FieldSpec, Required

_REQ = Required.REQUIRED
_COND = Required.CONDITIONAL
_OPT = Required.OPTIONAL
_D = FieldKind.DIGITS
_ZERO_ONE = ("0", "1")

# P001 (not P005/P006) answers a request that lacks any of these; check them before `validate`.
AUTH_FIELDS = ("merchant_id", "connect_id", "connect_password")

COMMON_HEADER: tuple[FieldSpec, ...] = (
    FieldSpec("merchant_id", _D, 9, _REQ),
    FieldSpec("connect_id", FieldKind.ALNUM, 32, _REQ),
    FieldSpec("connect_password", FieldKind.ALNUM, 32, _REQ),
    FieldSpec("telegram_kind", FieldKind.ALNUM, 3, _REQ),
    # The spec says alnum, but every client sends "1.0"; the dot must pass (P003 is the handler's).
    FieldSpec("telegram_version", FieldKind.ASCII, 6, _REQ),
    FieldSpec("trading_id", FieldKind.ID, 25, _COND),
    FieldSpec("payment_id", _D, 18, _COND),
)


def _card_data(required: Required) -> tuple[FieldSpec, ...]:
    """Raw card data; △ because a token, a stored card or `ref_trading_id` may stand in for it."""
    return (
        FieldSpec("card_number", _D, 16, required, min_bytes=14),
        FieldSpec("card_valid_term", _D, 4, required, min_bytes=4),  # MMYY
        FieldSpec("card_conf_number", _D, 4, required, min_bytes=3),
    )


def _flag(name: str, choices: tuple[str, ...] = _ZERO_ONE) -> FieldSpec:
    return FieldSpec(name, _D, 1, _OPT, choices=choices)


_SITE_ID = FieldSpec("site_id", FieldKind.ALNUM, 4, _OPT)
_CUSTOMER_ID = FieldSpec("customer_id", FieldKind.ID, 25, _REQ)
_CARD_TOKEN = FieldSpec("card_token", FieldKind.ASCII, 30, _OPT)
_SECURITY_CODE_USE = _flag("security_code_use")
_CARDHOLDER_NAME = FieldSpec(
    "cardholder_name", FieldKind.ASCII, 64, _OPT
)  # roman letters in practice
_ADD_INFO = tuple(FieldSpec(f"add_info{n}", FieldKind.TEXT, 64, _OPT) for n in range(1, 5))


_CARD_SET_METHODS = ("token", "customer", "direct", "google")  # 450's card sources


def _customer_card_id(required: Required) -> FieldSpec:
    return FieldSpec("customer_card_id", _D, 18, required)


_AUTHORISE = (  # 020
    FieldSpec("payment_amount", FieldKind.AMOUNT, 7, _REQ),
    *_card_data(_COND),
    FieldSpec("payment_class", _D, 2, _OPT, choices=("10", "23", "61", "80")),
    FieldSpec("split_count", _D, 2, _OPT),
    _flag("3dsecure_ryaku", ("1",)),
    _flag("3dsecure_use_type", ("1", "2")),
    FieldSpec("http_accept", FieldKind.ASCII, 1024, _OPT),  # no documented limit
    FieldSpec("http_user_agent", FieldKind.TEXT, 1024, _OPT),  # no documented limit
    FieldSpec("term_url", FieldKind.ASCII, 1024, _OPT),  # no documented limit
    FieldSpec("ref_trading_id", FieldKind.ID, 25, _OPT),
    _flag("stock_card_mode", ("1",)),
    FieldSpec("customer_id", FieldKind.ID, 25, _OPT),
    _customer_card_id(_OPT),
    _SITE_ID,
    _CARD_TOKEN,
    _flag("sales_mode"),
    _flag("security_code_token"),
    _SECURITY_CODE_USE,
    FieldSpec("3ds_auth_id", FieldKind.ASCII, 36, _OPT),
)

_CORRECT_AMOUNT = (  # 028, 029
    FieldSpec("payment_amount", FieldKind.AMOUNT, 7, _REQ),
    FieldSpec("reduction_flag", _D, 1, _REQ, choices=_ZERO_ONE),
    _flag("base_payment_cancel_timing"),
)

_STORE_CARD = (  # 025
    _CUSTOMER_ID,
    *_card_data(_COND),
    FieldSpec("card_brand", FieldKind.TEXT, 24, _OPT),
    _CARDHOLDER_NAME,
    *_ADD_INFO,
    _SITE_ID,
    _flag("valid_check_flg"),
    _CARD_TOKEN,
    _SECURITY_CODE_USE,
)

# 116: "send empty to clear, omit to leave unchanged" — the handler asks `fields.present` for
# card_valid_term, cardholder_name and add_info1..4.
_UPDATE_CARD = (
    _CUSTOMER_ID,
    _customer_card_id(_REQ),
    FieldSpec("card_valid_term", _D, 4, _OPT, min_bytes=4),
    _CARDHOLDER_NAME,
    *_ADD_INFO,
    _SITE_ID,  # (infer) stored cards are kept per site, so the site must be selectable
    _CARD_TOKEN,
    _SECURITY_CODE_USE,
)

_DELETE_CARD = (_CUSTOMER_ID, _customer_card_id(_OPT), _SITE_ID)  # 026

_LIST_CARDS = (  # 027
    _CUSTOMER_ID,
    _customer_card_id(_OPT),
    _SITE_ID,
    _flag("return_fingerprint_flg"),
    # Added by the official modules to every reference telegram; ignored, so checked only loosely.
    FieldSpec("limit_count", FieldKind.ASCII, 32, _OPT),
)

_INQUIRE = (FieldSpec("payment_type", _D, 2, _OPT),)  # 094

# 091: trading_id / payment_id are ignored (§1.5), so the header is checked without them.
_HEADER_WITHOUT_PAYMENT = tuple(
    spec for spec in COMMON_HEADER if spec.name not in ("trading_id", "payment_id")
)
_DIFFERENCE_INQUIRY = (FieldSpec("payment_notice_id", _D, 18, _OPT), _SITE_ID)

_ATM = (  # 010 (§1.5)
    FieldSpec("payment_amount", FieldKind.AMOUNT, 9, _REQ),
    FieldSpec("customer_family_name", FieldKind.FULLWIDTH, 12, _OPT),
    FieldSpec("customer_name", FieldKind.FULLWIDTH, 12, _OPT),
    FieldSpec("customer_family_name_kana", FieldKind.KANA, 12, _OPT),
    FieldSpec("customer_name_kana", FieldKind.KANA, 12, _OPT),
    FieldSpec("payment_detail", FieldKind.FULLWIDTH, 24, _REQ),
    FieldSpec("payment_detail_kana", FieldKind.KANA, 24, _REQ),
    FieldSpec("payment_limit_date", _D, 2, _OPT),
    _SITE_ID,
)

_CVS = (  # 030 (§1.5)
    FieldSpec("payment_amount", FieldKind.AMOUNT, 9, _REQ),
    FieldSpec("cvs_type", _D, 2, _OPT),
    FieldSpec("cvs_company_id", FieldKind.ALNUM, 6, _OPT),
    FieldSpec("customer_family_name", FieldKind.FULLWIDTH, 20, _REQ),
    FieldSpec("customer_name", FieldKind.FULLWIDTH, 20, _REQ),
    FieldSpec("customer_family_name_kana", FieldKind.KANA, 14, _OPT),
    FieldSpec("customer_name_kana", FieldKind.KANA, 14, _OPT),
    FieldSpec("customer_tel", _D, 11, _REQ),
    FieldSpec("site_info", FieldKind.FULLWIDTH, 50, _OPT),
    FieldSpec("payment_limit_date", _D, 2, _OPT),
    FieldSpec("sales_type", _D, 1, _OPT, choices=("1", "3")),
    _SITE_ID,
)

_URL = FieldKind.ASCII
_BANK_NET = (  # 060 (§1.5); sizes the sources do not give are generous guesses
    FieldSpec("amount", FieldKind.AMOUNT, 11, _REQ),
    FieldSpec("claim_kana", FieldKind.KANA, 24, _REQ),
    FieldSpec("claim_kanji", FieldKind.FULLWIDTH, 24, _REQ),
    FieldSpec("customer_family_name", FieldKind.FULLWIDTH, 12, _OPT),
    FieldSpec("customer_name", FieldKind.FULLWIDTH, 12, _OPT),
    FieldSpec("customer_family_name_kana", FieldKind.KANA, 12, _OPT),
    FieldSpec("customer_name_kana", FieldKind.KANA, 12, _OPT),
    FieldSpec("receipt_name_kana", FieldKind.KANA, 48, _OPT),  # no documented limit
    FieldSpec("receipt_name", FieldKind.FULLWIDTH, 48, _OPT),  # no documented limit
    FieldSpec("return_url", _URL, 1024, _OPT),  # no documented limit
    FieldSpec("merchant_name", FieldKind.TEXT, 64, _OPT),  # no documented limit
    FieldSpec("banner_url", _URL, 1024, _OPT),  # no documented limit
    FieldSpec("free_memo", FieldKind.TEXT, 512, _OPT),  # no documented limit
    FieldSpec("asp_payment_term", _D, 7, _OPT, min_bytes=7),  # FDDhhmm
    FieldSpec("stop_return_url", _URL, 1024, _OPT),  # no documented limit
    FieldSpec("copy_right", _URL, 128, _OPT),  # half-width text; no documented limit
    _SITE_ID,
)
# 050 (bank net direct): the sources give no fields; Kessai's reading is 060 plus the bank.
_BANK_NET_DIRECT = (*_BANK_NET, FieldSpec("bank_code", FieldKind.ALNUM, 4, _REQ, min_bytes=4))

_VIRTUAL_ACCOUNT = (  # 070 (§1.5)
    FieldSpec("claim_amount", FieldKind.AMOUNT, 7, _REQ),
    FieldSpec("billing_name", FieldKind.FULLWIDTH, 100, _OPT),
    FieldSpec("billing_name_kana", FieldKind.KANA, 48, _OPT),
    FieldSpec("expire_days", _D, 3, _OPT),
    _SITE_ID,
    FieldSpec("numbering_type", _D, 1, _OPT, choices=_ZERO_ONE),
    # All three or none (the handler checks): fixed numbering names the customer's account.
    FieldSpec("virtual_account_bank_code", _D, 4, _COND, min_bytes=4),
    FieldSpec("virtual_account_branch_code", _D, 3, _COND, min_bytes=3),
    FieldSpec("virtual_account_number", _D, 7, _COND, min_bytes=7),
    FieldSpec("fix_numbering_registered", FieldKind.TEXT, 200, _OPT),
)

# Carrier billing (§1.5 100–105). The annex with the exact sizes is not in the sources: URLs as
# return_url (512), the other limits generous guesses (marked), so that real clients pass.
_CAREER_TYPE = FieldSpec("career_type", _D, 2, _REQ)  # 2, 4, 5, 6, 7 (checked by the core: P010)
_CARRIER_URL = 512
_PC_MOBILE_TYPE = FieldSpec("pc_mobile_type", _D, 1, _OPT, choices=("0", "1", "2", "3", "4"))

_CARRIER_APPLY = (  # 100
    _CAREER_TYPE,
    FieldSpec("amount", FieldKind.AMOUNT, 6, _REQ),
    FieldSpec("return_url", FieldKind.ASCII, _CARRIER_URL, _REQ),
    FieldSpec("cancel_url", FieldKind.ASCII, _CARRIER_URL, _REQ),
    FieldSpec("other_url", FieldKind.ASCII, _CARRIER_URL, _OPT),
    _SITE_ID,
    FieldSpec("item_cd", FieldKind.ASCII, 32, _OPT),  # no documented limit
    _PC_MOBILE_TYPE,
    FieldSpec("open_id", FieldKind.ASCII, 256, _OPT),  # no documented limit
    FieldSpec("outline", FieldKind.TEXT, 128, _OPT),  # no documented limit
    FieldSpec("service_code", FieldKind.ASCII, 32, _OPT),  # no documented limit
    _flag("sales_flg"),
)

_CARRIER_CORRECT = (FieldSpec("amount", FieldKind.AMOUNT, 6, _REQ),)  # 103: the new total

_CARRIER_AUTHENTICATE = (  # 104
    _CAREER_TYPE,
    FieldSpec("redirect_url", FieldKind.ASCII, _CARRIER_URL, _REQ),
    FieldSpec("cancel_url", FieldKind.ASCII, _CARRIER_URL, _REQ),
    _PC_MOBILE_TYPE,
    _SITE_ID,
)

_CARRIER_RELEASE = (  # 105
    FieldSpec("career_type", _D, 2, _OPT),
    FieldSpec("open_id", FieldKind.ASCII, 256, _REQ),
)

# 040 (§1.5 040 gives only names and a few sizes; the other sizes are (infer), generous enough for
# a company's name and a Japanese address). The slip is mailed or printed, hence the address.
# customer_tel is checked as ASCII here because real clients send it with hyphens
# ("03-1234-5678"); the handler checks its digits. Addresses and item details are printed, not
# matched, and real ones mix half-width digits in ("神宮前1-2-3"): any text Windows-31J carries.
_SLIP_ITEM_COUNT = 20


def _slip_item(n: int) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(f"item_date_{n}", _D, 8, _OPT, min_bytes=8),  # YYYYMMDD
        FieldSpec(f"item_detail_{n}", FieldKind.TEXT, 60, _OPT),
        FieldSpec(f"item_amount_{n}", FieldKind.AMOUNT, 6, _OPT),
    )


_SLIP = (
    FieldSpec("payment_amount", FieldKind.AMOUNT, 6, _REQ),
    FieldSpec("tax_class", _D, 1, _OPT, choices=_ZERO_ONE),
    FieldSpec("sales_tax_amount", FieldKind.AMOUNT, 6, _OPT),
    FieldSpec("site_info", FieldKind.FULLWIDTH, 60, _OPT),
    FieldSpec("payment_limit_date", _D, 3, _OPT),
    FieldSpec("bill_expiration_date", _D, 3, _OPT),
    FieldSpec("customer_type", _D, 1, _OPT, choices=_ZERO_ONE),
    FieldSpec("customer_family_name", FieldKind.FULLWIDTH, 60, _REQ),
    FieldSpec("customer_name", FieldKind.FULLWIDTH, 40, _COND),  # a person's (customer_type 0)
    FieldSpec("customer_family_name_kana", FieldKind.KANA, 60, _OPT),
    FieldSpec("customer_name_kana", FieldKind.KANA, 40, _OPT),
    FieldSpec("customer_dept", FieldKind.FULLWIDTH, 60, _OPT),
    FieldSpec("customer_representative", FieldKind.FULLWIDTH, 40, _OPT),
    FieldSpec("customer_zip_code", _D, 7, _REQ, min_bytes=7),
    FieldSpec("customer_address_1", FieldKind.TEXT, 100, _REQ),
    FieldSpec("customer_address_2", FieldKind.TEXT, 100, _OPT),
    FieldSpec("customer_address_3", FieldKind.TEXT, 100, _OPT),
    FieldSpec("customer_tel_type", _D, 1, _OPT),
    FieldSpec("customer_tel", FieldKind.ASCII, 13, _REQ),
    *(spec for n in range(1, _SLIP_ITEM_COUNT + 1) for spec in _slip_item(n)),
)

# 450 EMV 3-D Secure 2 (§1.5 450; a UTF-8 telegram). The ~50 optional risk fields (addresses,
# phones, purchase history…) are accepted and ignored: the simulated ACS does not score risk.
_THREEDS = (
    FieldSpec("term_url", FieldKind.ASCII, 1024, _REQ),  # no documented limit
    FieldSpec("merchant_name", FieldKind.TEXT, 80, _REQ),  # 40 characters, full-width ones 2 bytes
    FieldSpec("authentication_type", _D, 2, _OPT, choices=("01",)),
    FieldSpec("card_set_method", FieldKind.ALNUM, 8, _OPT, choices=_CARD_SET_METHODS),
    _CARD_TOKEN,
    FieldSpec("customer_id", FieldKind.ID, 25, _OPT),
    _customer_card_id(_OPT),
    FieldSpec("card_number", _D, 16, _COND, min_bytes=14),
    FieldSpec("card_valid_term", _D, 4, _COND, min_bytes=4),  # MMYY
    FieldSpec("google_payment_method_token", FieldKind.TEXT, 8192, _OPT),  # no documented limit
    # "may have decimals": checked by the handler (yen amounts must be whole).
    FieldSpec("payment_amount", FieldKind.ASCII, 10, _REQ),
    FieldSpec("currency_code", FieldKind.ALNUM, 3, _OPT),
    FieldSpec("payment_date", FieldKind.ASCII, 14, _OPT),
    _CARDHOLDER_NAME,
    _SITE_ID,
)

# 200/201 file payment (§1.5). `data` (the file, ≤10 MB) is kept as its bytes (`codec`) and read
# by the handler, not checked here: it is a whole CSV, checked line by line (core/files/parse.py).
_FILE_REQUEST = (
    FieldSpec("file_type", _D, 3, _REQ, min_bytes=3),
    _flag("duplicate_check"),
)
_FILE_RESULT = (FieldSpec("file_receipt_id", _D, 9, _REQ, min_bytes=9),)

REQUEST_SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "010": COMMON_HEADER + _ATM,
    "050": COMMON_HEADER + _BANK_NET_DIRECT,
    "060": COMMON_HEADER + _BANK_NET,
    "030": COMMON_HEADER + _CVS,
    "040": COMMON_HEADER + _SLIP,
    "070": COMMON_HEADER + _VIRTUAL_ACCOUNT,
    "020": COMMON_HEADER + _AUTHORISE,
    "021": COMMON_HEADER,
    "022": COMMON_HEADER,
    "023": COMMON_HEADER,
    "025": COMMON_HEADER + _STORE_CARD,
    "026": COMMON_HEADER + _DELETE_CARD,
    "027": COMMON_HEADER + _LIST_CARDS,
    "028": COMMON_HEADER + _CORRECT_AMOUNT,
    "029": COMMON_HEADER + _CORRECT_AMOUNT,
    "091": _HEADER_WITHOUT_PAYMENT + _DIFFERENCE_INQUIRY,
    "094": COMMON_HEADER + _INQUIRE,
    "116": COMMON_HEADER + _UPDATE_CARD,
    "100": COMMON_HEADER + _CARRIER_APPLY,
    "101": COMMON_HEADER,
    "102": COMMON_HEADER,
    "103": COMMON_HEADER + _CARRIER_CORRECT,
    "104": COMMON_HEADER + _CARRIER_AUTHENTICATE,
    "105": COMMON_HEADER + _CARRIER_RELEASE,
    "450": COMMON_HEADER + _THREEDS,
    "200": COMMON_HEADER + _FILE_REQUEST,
    "201": COMMON_HEADER + _FILE_RESULT,
}

# The 020 reply; 021/022/023 answer the same names ("パラメータ名のみ返却"), most of them empty.
_CARD_REPLY = (
    "payment_id",
    "trading_id",
    "issur_class",
    "acq_id",
    "acq_name",
    "issur_name",
    "issur_id",
    "attempt_kbn",
    "fingerprint",
    "masked_card_number",
    "card_valid_term",
    "fc_auth_umu",  # legacy, always empty
    "daiko_code",  # legacy, always empty
    "card_shu_code",  # legacy, always empty
    "k_card_name",  # legacy, always empty
    "out_acs_html",  # legacy 3-D Secure 1; an `_html` field, so the encoder writes it last
)

_CORRECTION_REPLY = ("payment_id", "base_payment_id", "reduced_amount", *_CARD_REPLY[1:])

_STORED_CARD_REPLY = (
    "num_of_cards",
    "customer_card_id",
    "fingerprint",
    "masked_card_number",
    "card_valid_term",
    "cardholder_name",
    "issur_id",
    "issur_name",
    "acq_id",
    "acq_name",
)

# 094 for a card payment (payment_type 02), in the order of the spec.
CARD_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "authorized_date",
    "cancel_date",
    "payment_date",
    "acq_id",
    "acq_name",
    "joho_code",
    "joho_issur_type",
    "payment_class",
    "summer_bonus",
    "winter_bonus",
    "split_count",
    "issur_code",
    "issur_name",
    "3dsecure_ryaku",
    "attempt_kbn",
    "authrized_number",  # sic: the protocol's spelling of 承認No
    "receipt_number",
    "currency_code",
    "sales_convert_amount",
    "cancel_convert_amount",
    "running_id",
    "fingerprint",
    "masked_card_number",
    "card_valid_term",
    "customer_id",
    "customer_card_id",
    "3dsecure_message_version",
)

# 091 notice fields in the order of §1.5; the §1.6 push sends the same names (and `hc`).
NOTICE_FIELDS = (
    "payment_notice_id",
    "change_date",
    "payment_id",
    "trading_id",
    "payment_type",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "payment_limit_date",
    "early_notice_date",
    "cancel_date",
    "user_payment_date",
    "payment_date",
    "bank_code",
    "cvs_company_id",
    "related_payment_id",
    "bar_code",
    # card
    "acq_id",
    "acq_name",
    "joho_code",
    "joho_issur_type",
    "payment_class",
    "summer_bonus",
    "winter_bonus",
    "split_count",
    "issur_code",
    "issur_name",
    "3dsecure_ryaku",
    "fc_auth_nmu",  # sic: the protocol's spelling here
    "daiko_code",
    "card_shu_code",
    "k_card_name",
    "attempt_kbn",
    # carrier
    "career_type",
    "pc_mobile_type",
    "career_payment_id",
    "running_id",
    "running_target_ym",
    "site_id",
    # virtual account
    "clear_detail",
    "claim_amount",
    "excess_deficiency_amount",
    "adjustment_amount",
    "virtual_account_bank_code",
    "virtual_account_branch_code",
    "virtual_account_number",
    "billing_name",
    "billing_name_kana",
    "transfer_client_name",
    "transfer_bank_name",
    "transfer_branch_name",
    "transfer_date",
    "virtual_account_status",
    "overseas_payment_flg",
    # e-money
    "emoney_user_id",
    "emoney_payment_id",
    "refund_emoney_user_id",
    "emoney_type",
    # tickets
    "service_type",
    "ticket_start_date",
    "ticket_end_date",
    "ticket_num",
    "main_ticket_num",
    "sub_ticket_num",
    # multi-currency
    "currency_code",
    "sales_convert_amount",
    "cancel_convert_amount",
    # direct debit
    "account_transfer_result_cd",
    # stored cards
    "customer_id",
    "customer_card_id",
    "fingerprint",
)

# 094's ATM record (§1.5 094 "Other methods").
ATM_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "payment_limit_date",
    "payment_date",
    "bank_code",
    "pay_center_number",
    "customer_number",
    "conf_number",
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
)

# 094's CVS number record (§1.5 094 "Other methods").
CVS_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "payment_limit_date",
    "early_notice_date",
    "cancel_date",
    "user_payment_date",
    "payment_date",
    "cvs_company_id",
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
    "customer_tel",
    "receipt_number",
    "confirm_notice_date",
)

# 094's bank net record (§1.5 094 "Other methods": bank_code, user_payment_date).
BANKNET_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "payment_limit_date",
    "payment_date",
    "bank_code",
    "user_payment_date",
    "claim_kana",
    "claim_kanji",
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
)

_BANK_NET_REPLY = (  # 060 (§1.5)
    "trading_id",
    "asp_limit_date",
    "asp_payment_limit_date",
    "asp_url",
    "amount",
    "claim_kana",
    "claim_kanji",
    "trade_generation_date",
)

# 094's virtual-account record: the claim, its account, and the clearing fields of 091 (§1.5 094).
VIRTUAL_ACCOUNT_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",  # the claim; once cleared, the amount transferred
    "payment_init_date",
    "payment_limit_date",  # = expire_date
    "payment_date",
    "clear_detail",
    "claim_amount",
    "excess_deficiency_amount",
    "adjustment_amount",
    "virtual_account_bank_code",
    "virtual_account_bank_name",
    "virtual_account_branch_code",
    "virtual_account_branch_name",
    "virtual_account_deposit_kind",
    "virtual_account_number",
    "expire_date",
    "numbering_type",
    "fix_numbering_registered",
    "billing_name",
    "billing_name_kana",
    "transfer_client_name",
    "transfer_bank_name",
    "transfer_branch_name",
    "transfer_date",
)

# 094's carrier record (§1.5 094 "Other methods").
CARRIER_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "authorized_date",
    "cancel_date",
    "payment_date",
    "career_type",
    "pc_mobile_type",
    "career_payment_id",
    "running_id",
    "running_target_ym",
    "item_cd",
    "service_code",
    "outline",
    "payment_class",
    "sales_flg",
)

# 100 and 104 answer `redirect_url` or, for the carriers that post a form, `redirect_html` (last).
_CARRIER_REDIRECT = ("redirect_url", "redirect_html")

# 094's CVS slip record (§1.5 094 "CVS slip (barcode fields…)"): the slip's own fields after the
# CVS number record's; `slip_url` is Kessai's (the buyer's page, as in the 040 reply).
SLIP_PAYMENT_RECORD = (
    "payment_id",
    "trading_id",
    "payment_type",
    "site_id",
    "payment_status",
    "payment_amount",
    "payment_init_date",
    "payment_limit_date",
    "bill_expiration_date",
    "cancel_date",
    "user_payment_date",
    "payment_date",
    "cvs_company_id",
    "usable_cvs_company_id",
    "bar_code",
    "slip_url",
    "tax_class",
    "sales_tax_amount",
    "customer_type",
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
    "customer_zip_code",
    "customer_tel",
)

# The 040 reply: PAYGENT documents payment_id and trading_id (it mails the slip itself); Kessai
# adds where the buyer gets it (`slip_url`), its barcode and its dates, so a merchant can send the
# link or print its own slip.
SLIP_REPLY = (
    "payment_id",
    "trading_id",
    "slip_url",
    "bar_code",
    "payment_limit_date",
    "bill_expiration_date",
)

RESPONSE_FIELDS: dict[str, tuple[str, ...]] = {
    "060": _BANK_NET_REPLY,
    # 050: Kessai's reading; the payment exists at once, and asp_url is the bank's page.
    "050": ("payment_id", *_BANK_NET_REPLY, "bank_code"),
    "070": (
        "payment_id",
        "trading_id",
        "virtual_account_bank_code",
        "virtual_account_bank_name",
        "virtual_account_branch_code",
        "virtual_account_branch_name",
        "virtual_account_deposit_kind",
        "virtual_account_number",
        "expire_date",
        "numbering_type",
        "fix_numbering_registered",
    ),
    "030": (
        "payment_id",
        "trading_id",
        "receipt_number",
        "receipt_print_url",
        "usable_cvs_company_id",
        "payment_limit_date",
    ),
    "040": SLIP_REPLY,
    "010": (
        "payment_id",
        "trading_id",
        "pay_center_number",
        "customer_number",
        "conf_number",
        "payment_limit_date",
    ),
    "020": _CARD_REPLY,
    "021": _CARD_REPLY,
    "022": _CARD_REPLY,
    "023": _CARD_REPLY,
    "025": _STORED_CARD_REPLY,
    "026": ("num_of_cards",),
    "028": _CORRECTION_REPLY,
    "029": _CORRECTION_REPLY,
    "091": ("success_code", "success_detail", *NOTICE_FIELDS),
    "094": CARD_PAYMENT_RECORD,
    "116": ("num_of_cards", "customer_card_id"),
    "200": ("file_receipt_id",),
    "100": ("payment_id", "trading_id", "trade_generation_date", *_CARRIER_REDIRECT),
    "101": ("payment_id", "trading_id"),
    "102": ("payment_id", "trading_id"),
    "103": ("payment_id", "base_payment_id", "trading_id"),
    "104": ("trading_id", *_CARRIER_REDIRECT),
    "105": ("open_id",),
    # 450: the card as the directory server knows it, the auth id, and the page that starts the
    # authentication in the buyer's browser (an `_html` field: written last).
    "450": (
        "card_brand",
        "acq_id",
        "3ds_auth_id",
        "issur_class",
        "acq_name",
        "issur_name",
        "issur_id",
        "fingerprint",
        "masked_card_number",
        "out_acs_html",
    ),
}

# 027 answers CSV (§1.3) with these columns for every card; the validity-check columns are empty for
# cards registered without a check, because every row must be as wide as the column record.
STORED_CARD_CSV_COLUMNS = (
    "customer_id",
    "customer_card_id",
    "card_number",  # masked
    "card_valid_term",
    "card_last_use_date",
    "card_brand",
    "cardholder_name",
    "add_info1",
    "add_info2",
    "add_info3",
    "add_info4",
    "card_expire_flag",
    "valid_check_result",
    "valid_update_cd",
    "valid_check_date",
    "issur_name",
)
# Appended to the columns when the request has return_fingerprint_flg=1.
STORED_CARD_CSV_FINGERPRINT_COLUMN = "fingerprint"


def stored_card_csv_columns(*, with_fingerprint: bool) -> tuple[str, ...]:
    """The 027 CSV columns, with `fingerprint` last when the merchant asked for it."""
    extra = (STORED_CARD_CSV_FINGERPRINT_COLUMN,) if with_fingerprint else ()
    return STORED_CARD_CSV_COLUMNS + extra


_CARD_PATH = "/n/card/request"

# The official modules' URL table (§1.1): looked up by the full kind, then by its first two chars.
KIND_PATH_TABLE: dict[str, str] = {
    "01": "/n/atm/request",
    "02": _CARD_PATH,
    "11": _CARD_PATH,
    "18": _CARD_PATH,
    "19": _CARD_PATH,
    "28": _CARD_PATH,
    "096": _CARD_PATH,
    "03": "/n/conveni/request",
    "04": "/n/conveni/request_print",
    "05": "/n/bank/request",
    "06": "/n/bank/requestasp",
    "07": "/n/virtualaccount/request",
    "09": "/n/ref/request",
    "091": "/n/ref/paynotice",
    "093": "/n/ref/runnotice",
    "094": "/n/ref/paymentref",
    "095": "/n/ref/cardnoref",
    "099": "/n/ref/paymentcharge",
    "10": "/n/c/request",
    "12": "/n/c/request",
    "13": "/n/paypal/request",
    "15": "/n/emoney/request",
    "20": "/n/o/requestdata",
    "22": "/n/later/request",
    "26": "/n/accounttransfer/request",
    "263": "/n/accounttransfer/receipt",
    "264": "/n/accounttransfer/receipt",
    "265": "/n/accounttransfer/receipt",
    "27": "/n/rakutenid/request",
    "29": "/n/jcbpremo/request",
    "30": "/n/upop/request",
    "31": "/n/alipay/request",
    "32": "/n/applepay/request",
    "34": "/n/paidy/request",
    "35": "/n/googlepay/request",
    "38": "/n/illegal_detect/request",
    "41": "/n/pi/request",
    "42": "/n/paypay/request",
    "43": "/n/tokimekiPoint/request",
    "45": "/n/threeds/request",
    "098": "/n/token/request",
}

# Every path a module-type client can call.
KNOWN_PATHS = frozenset(KIND_PATH_TABLE.values())

# The "hash check" mode of one client calls `/s/…` instead of `/n/…` (§1.1).
HASH_CHECK_PREFIX = "/s/"


def path_for_kind(kind: str) -> str | None:
    """The path a PAYGENT client posts `kind` to, or None when no client knows the kind."""
    if len(kind) != 3:
        return None
    return KIND_PATH_TABLE.get(kind) or KIND_PATH_TABLE.get(kind[:2])


def path_matches_kind(path: str, kind: str) -> bool:
    """Whether `kind` may be posted to `path` (else P004); `/s/…` counts as its `/n/…` twin."""
    if path.startswith(HASH_CHECK_PREFIX):
        path = "/n/" + path.removeprefix(HASH_CHECK_PREFIX)
    expected = path_for_kind(kind)
    return expected is not None and path.rstrip("/") == expected


def _path_of(kind: str) -> str:
    path = path_for_kind(kind)
    assert path is not None, kind
    return path


# The paths of the kinds Kessai answers today.
KIND_PATHS: dict[str, str] = {kind: _path_of(kind) for kind in REQUEST_SPECS}
