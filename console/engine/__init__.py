"""The treatment engine: runs a protocol on a driver, enforces the safety rules, measures delivery.

Nothing in this package imports Qt: it runs headless, in tests and on the command line, and the
UI is a thin layer that reads its ring buffer and subscribes to its events.
"""
