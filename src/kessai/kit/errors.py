"""One error type for the whole gateway.

A `KessaiError` carries the protocol response code (`P010`, `2004`, …), the field it is about, and a
message for people. The core raises it; each face turns it into its own wire form (the module telegram
face writes `result=1`, `response_code`, `response_detail`).

Tree::

    KessaiError
    ├── InvalidRequest      bad input, nothing changed           (P001–P014, P022–P026, 2005, 2006, 2009, 2013…)
    ├── AuthError           credentials, certificate or address refused (P001, P002, P015, P016)
    ├── InvalidState        operation not allowed in this state  (2004, 2007)
    ├── NotFound            no such payment or card              (2006, 13001, P022, P026)
    ├── Declined            the institution said no              (2001, 2002, 2003, 2008 on authorise)
    ├── InProgress          another operation is not settled yet (9005; 9004 concurrent 091; retry)
    └── InternalError       our fault                            (E001)

Messages live in `MESSAGES`, Japanese as the PAYGENT protocol has them.
"""

from __future__ import annotations

# Response code → message. Field-level messages take the field name (`{field}`).
MESSAGES: dict[str, str] = {
    "P001": "認証パラメータ（マーチャントID、接続ID、接続パスワード）が存在しません。",
    "P002": "認証に失敗しました。マーチャントID、接続ID、接続パスワードを確認してください。",
    "P003": "電文バージョンが不正です。",
    "P004": "指定されたURLでこの決済手段を使用することはできません。",
    "P005": '"{field}"パラメータが存在しません。',
    "P006": '"{field}"パラメータの値が設定されていません。',
    "P007": "この決済手段は契約されていません。",
    "P008": '"{field}"パラメータの値はタイプが不正です。',
    "P009": '"{field}"パラメータの値は桁数が不正です。',
    "P010": '"{field}"パラメータの値は不正な値です。',
    "P011": "利用限度額を超えています。",
    "P012": "支払期限日が指定可能な範囲外です。",
    "P014": "金額は0より大きい値を指定してください。",
    "P015": "接続元IPアドレスが許可されていません。",
    "P016": "クライアント証明書が不正です。",
    "P021": "カード情報お預かりサービスは契約されていません。",
    "P022": "指定した顧客ID、顧客カードIDのカード情報はありません。",
    "P023": "登録可能なカード情報の件数を超えています。",
    "P025": "指定した顧客ID、顧客カードIDのカード情報はありません。",
    "P026": "指定した顧客ID、顧客カードIDのカード情報はありません。",
    "P030": "支払区分または分割回数が不正です。",
    "P063": "EMV 3Dセキュアは契約されていません。",
    "E001": "システムエラーが発生しました。時間をおいて再度お試しください。",
    "2001": "カード会社でオーソリが承認されませんでした。",
    "2002": "カード会社でシステムエラーが発生しました。",
    "2003": "カード情報の入力に誤りがあります。",
    "2004": "決済ステータスが不正なため、この処理は実行できません。",
    "2005": "取引IDに該当する決済が複数あります。決済IDを指定してください。",
    "2006": "指定された決済が存在しません。",
    "2007": "有効期限が切れているため、この処理は実行できません。",
    "2008": "カード会社との通信がタイムアウトしました。",
    "2009": "参照取引IDの決済は利用できません。",
    "2010": "補正前オーソリの取消に失敗しました。",
    "2011": "補正後の売上に失敗しました。",
    "2012": "補正前売上の取消に失敗しました。",
    "2013": "補正後の金額が不正です。",
    "2016": "このカードはご利用いただけません。",
    "2024": "カード情報の指定方法が重複しています。",
    "3001": "コンビニ決済の収納代行会社でエラーが発生しました。（セイコーマート）",
    "3002": "コンビニ決済の収納代行会社でエラーが発生しました。（ローソン・ミニストップ・デイリーヤマザキ）",
    "3003": "コンビニ決済の収納代行会社でエラーが発生しました。（セブン-イレブン）",
    "3004": "コンビニ決済の収納代行会社でエラーが発生しました。（ファミリーマート）",
    "5008": "この取引のお支払いは既に完了しています。",
    "5009": "お支払いの有効期限が切れています。",
    "5010": "同じ取引IDの銀行ネット決済申込が既に受け付けられています。",
    "5011": "銀行の選択回数が上限を超えました。",
    "6001": "この取引は既にお支払いが完了しています。",
    "6002": "お支払いページの有効期限が切れています。",
    "6003": "この取引のお支払い番号は既に発行されています。",
    "6004": "使用できない文字が含まれています。",
    "6005": "取引情報が正しくありません。",
    "8001": "割当可能な仮想口座がありません。",
    "8002": "固定番号方式の仮想口座と回転方式の仮想口座の指定が一致しません。",
    "8003": "指定された仮想口座はこの加盟店の口座ではありません。",
    "9004": "差分照会が同時に実行されています。時間をおいて再度お試しください。",
    "9005": "他の処理が実行中です。時間をおいて再度お試しください。",
    # File payment (200/201, §1.5): 9103 and 9106 as PAYGENT gives them, the others as Kessai
    # assigns them (the sources name the range only). 9101's detail names the line and the reason.
    "9101": "ファイルの形式が不正です。",
    "9102": "指定されたファイル種別は利用できません。",
    "9103": "ファイルの処理が完了していません。時間をおいて再度お試しください。",
    "9104": "指定されたファイル受付IDは存在しません。",
    "9105": "この行は処理されませんでした。",
    "9106": "同じファイルが24時間以内に受け付けられています。",
    "13001": "指定された決済が存在しません。",
    "13002": "取引IDに該当する決済が複数あります。決済種別を指定してください。",
    # EMV 3-D Secure 2 (450 and 020 with 3ds_auth_id); 31008–31011 as Kessai assigns them.
    "31007": "3Dセキュア認証に失敗しました。",
    "31008": "指定された3Dセキュア認証IDは存在しません。",
    "31009": "指定された3Dセキュア認証は完了していないか、認証に失敗しています。",
    "31010": "指定された3Dセキュア認証IDは既に使用されています。",
    "31011": "3Dセキュア認証時と決済金額またはカード情報が一致しません。",
    "31012": "3Dセキュア認証処理でエラーが発生しました。",
    "31013": "3Dセキュア認証がタイムアウトしました。",
    # Kessai's own codes (not PAYGENT's): the sandbox controls.
    "S001": "この操作はテスト環境（sandbox）の加盟店でのみ使えます。",
    "S002": "この決済種別では、指定されたステータスへの移動はできません。",
}


def message_for(code: str, field: str | None = None) -> str:
    """The protocol's message for `code`, with the field name filled in where it has one."""
    template = MESSAGES.get(code, MESSAGES["E001"])
    return template.format(field=field or "")


class KessaiError(Exception):
    """Base of every error a face can show. `code` is the protocol response code."""

    code: str = "E001"
    retryable: bool = False

    def __init__(
        self,
        code: str | None = None,
        *,
        field: str | None = None,
        message: str | None = None,
        detail: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.field = field
        # `detail` overrides the response_detail (card vendor codes such as 1G12).
        self.message = message or message_for(self.code, field)
        self.detail = detail if detail is not None else self.message
        super().__init__(f"{self.code}: {self.message}")


class InvalidRequest(KessaiError):
    code = "P010"


class AuthError(KessaiError):
    code = "P002"


class InvalidState(KessaiError):
    code = "2004"


class NotFound(KessaiError):
    code = "2006"


class Declined(KessaiError):
    code = "2001"


class InProgress(KessaiError):
    code = "9005"
    retryable = True


class SandboxOnly(KessaiError):
    """A sandbox control (status-simulation tool, test clock) asked for a production merchant."""

    code = "S001"


class InternalError(KessaiError):
    code = "E001"
