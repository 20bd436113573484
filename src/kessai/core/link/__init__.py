"""The link type (リンクタイプ): signed requests for the hosted payment page (paygent-protocol.md §2)."""
