"""A plugin with a hook implementation no spec knows: loading it must fail loudly."""

from postal import hookimpl


@hookimpl
def postal_no_such_hook(thing):
    return thing
