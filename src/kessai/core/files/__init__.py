"""Card file processing (ファイル決済, telegrams 200/201): files of card requests run by the worker."""
