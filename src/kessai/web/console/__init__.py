"""The merchant console (決済管理ツール) under /console/: server-rendered pages for merchant staff."""
