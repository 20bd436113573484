"""The merchant console's own records (決済管理ツール): staff users, their certificates, sessions, the
audit log and bulk submissions. The payments it shows and changes belong to `core.payments`."""
