"""Infrastructure with exactly one active implementation, chosen by a dotted setting."""


def includeme(config) -> None:
    config.include(".dns")
