"""CRC-16/CCITT-FALSE, the checksum of the binary machine protocols.

Parameters (Rocksoft model): width 16, poly 0x1021, init 0xFFFF, refin false, refout false,
xorout 0x0000; the check value (CRC of ``b"123456789"``) is 0x29B1.

:func:`crc16_ccitt` runs in C: ``binascii.crc_hqx`` is exactly this table-driven CRC (poly 0x1021,
MSB first, caller's initial value, no final xor), 25× faster than a pure-Python loop over
every byte (1.5 µs against 40 µs for a 660-byte sample frame, whose whole decode budget at
10⁶ samples/s is 160 µs). The pure-Python table-driven :func:`crc16_ccitt_reference` is the
readable definition firmware engineers port; the tests check that both agree.

Why not PyPI ``crcmod`` (issue 16): with its C extension it is no faster (1.85 µs against 1.65 µs
for a 664-byte body, measured 2026-12-03), its last release is 1.7 of 2010, and built without a
C compiler it falls back silently to pure Python (45 µs a body, 27× slower).
"""

from __future__ import annotations

import binascii

__all__ = ["CRC16_CHECK", "CRC16_INIT", "CRC16_POLY", "crc16_ccitt", "crc16_ccitt_reference"]

CRC16_POLY = 0x1021
CRC16_INIT = 0xFFFF
#: CRC of b"123456789": the standard check value of CRC-16/CCITT-FALSE.
CRC16_CHECK = 0x29B1


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC16_POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


#: ``_TABLE[b]`` is the CRC register after shifting byte ``b`` through a zero register.
_TABLE = _make_table()


def crc16_ccitt(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data``, continuing from ``crc`` (pass a previous result to chain).

    Accepts any bytes-like object, including non-contiguous memoryviews (which are copied).
    """
    try:
        return binascii.crc_hqx(data, crc)
    except BufferError:  # a strided memoryview: the C routine needs contiguous bytes
        return binascii.crc_hqx(memoryview(data).tobytes(), crc)


def crc16_ccitt_reference(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """The same CRC in plain Python, one table look-up per byte (the definition; slow)."""
    if isinstance(data, memoryview):
        data = data.tobytes()  # iterate bytes whatever the view's format or strides
    table = _TABLE
    crc &= 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc
