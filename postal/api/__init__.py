"""HTTP APIs: v1 (Postal-compatible) and v2 (management)."""
