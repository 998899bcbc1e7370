"""One module per importable kind."""
