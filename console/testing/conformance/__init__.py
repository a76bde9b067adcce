"""The conformance kit: checks that a vendor's driver or protocol plugin keeps the console's promises.

Run it against a driver registered through the ``mc_console`` entry points (or a factory not yet
registered, as ``module:factory``), or against a protocol plugin::

    pytest -p console.testing.conformance.plugin --pyargs console.testing.conformance \\
        --driver acme-s2 --port /dev/ttyUSB0
    pytest -p console.testing.conformance.plugin --pyargs console.testing.conformance \\
        --protocol-plugin acme_protocols
    python -m console.testing.conformance --driver acme-s2 --port /dev/ttyUSB0   # the same

Every check is one test; its failure message says what the console relies on and what to change.
``docs/conformance.md`` explains the checks and the figures the kit prints.
"""
