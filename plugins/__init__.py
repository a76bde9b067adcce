"""Built-in protocol plugins: lifting, toning and circulation.

Each module is a separate pluggy plugin, declared as an entry point in ``pyproject.toml`` exactly
as a third-party protocol pack would be, so that a broken or disabled one leaves the others working.
"""
