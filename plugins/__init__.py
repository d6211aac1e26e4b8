"""Built-in plugins, registered through the postal.plugins entry-point group."""
