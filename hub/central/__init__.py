"""The link to the central source-information system (HTTT nguồn Trung ương) and CAP 1.2 in and out
(docs/CENTRAL.md)."""
