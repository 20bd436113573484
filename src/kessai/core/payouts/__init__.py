"""Payouts (支払): each merchant's payout settings (cycle, bank account), the payout calendar, the
Zengin 総合振込 bank file and the payout statement's document."""
