"""Carrier billing (携帯キャリア決済, payment_type 06): the state tables, the commands, and the carrier
user authentications (OpenID) of telegrams 104/105."""
