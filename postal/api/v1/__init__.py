"""Postal's HTTP API v1 (the "legacy" API), byte-compatible with existing clients."""
