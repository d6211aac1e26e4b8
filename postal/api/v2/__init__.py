"""Management API v2: JSON, bearer tokens, objects addressed by uuid."""
