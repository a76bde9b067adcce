"""A wire checker for firmware engineers: runs a machine through its protocol spec.

    python -m device_drivers.wire_check --protocol scpi --port /dev/ttyACM0
    python -m device_drivers.wire_check --protocol framed --port socket://localhost:7001

Each check names the section of ``docs/protocols/scpi.md`` or ``docs/protocols/framed.md`` it
comes from and prints PASSED or FAILED, with the bytes sent and received when it fails. The
checks are in :mod:`.scpi` and :mod:`.framed`, the runner and report in :mod:`.runner`.
"""
