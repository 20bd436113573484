"""Reconciliation (消し込み): the merchant's order list against its payments, and what is owed to it."""
