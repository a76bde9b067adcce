"""Acme Stim's plugin for Microcurrent Console: the Acme S2 driver, and an S2 emulated in memory.

Importing the package teaches pyserial the ``acme-sim://`` URL (:mod:`acme_stim.protocol_acme_sim`),
so ``mc-console run --driver acme-s2 --port acme-sim://`` works without a machine.
"""

from __future__ import annotations

import sys

import serial

from acme_stim import protocol_acme_sim

__version__ = "1.0.0"

# pyserial imports the handler of a ``NAME://`` URL as ``<package>.protocol_NAME`` from each
# package in ``serial.protocol_handler_packages``. For ``acme-sim`` that name holds a hyphen,
# which no module file can have, so the module is entered under that name as well.
if __name__ not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(__name__)
sys.modules.setdefault(f"{__name__}.protocol_acme-sim", protocol_acme_sim)
