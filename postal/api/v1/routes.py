"""API v1 routes (mounted under ``/api/v1``), exactly Postal's four paths."""


def includeme(config) -> None:
    config.add_route("api.v1.send.message", "/send/message")
    config.add_route("api.v1.send.raw", "/send/raw")
    config.add_route("api.v1.messages.message", "/messages/message")
    config.add_route("api.v1.messages.deliveries", "/messages/deliveries")
