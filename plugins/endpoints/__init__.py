"""Built-in endpoint types for routed incoming mail: HTTP, SMTP and address endpoints,
each a plugin implementing ``postal_deliver_to_endpoint`` for its own type."""
