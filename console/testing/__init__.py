"""Testing aids shipped with the console for plugin authors (see :mod:`console.testing.conformance`)."""
