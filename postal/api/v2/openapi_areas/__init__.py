"""OpenAPI descriptions of API v2, one module per area (see ``postal.api.v2.openapi``).

Each module exposes ``TAG`` (``{"name", "description"}``), ``SCHEMAS`` (component schemas by
name) and ``PATHS`` (path items keyed by path relative to ``/api/v2``)."""
