"""COBS: Consistent Overhead Byte Stuffing, the framing of the binary machine protocols.

COBS rewrites a byte string so that it contains no 0x00 byte, at a cost of at most one byte in 254
(plus one), which frees 0x00 to mark the end of every frame on the wire: a receiver that lost
track (garbage, a dropped byte, a port opened mid-frame) is back in step at the next 0x00.

The encoding is a sequence of *groups*. A group is a code byte ``n`` (1–255) followed by ``n - 1``
data bytes; every group except one with code 0xFF and the last one stands for its data bytes
followed by a 0x00. This is the canonical encoding of Cheshire & Baker (1999), byte for byte
what the common C implementations produce (no trailing ``0x01`` after a final 254-byte group).

Both directions work on whole slices (``bytes.find`` for the zeros, slicing for the groups), so
the Python cost is per group, not per byte: a frame with few zeros costs a handful of operations.
"""

from __future__ import annotations

__all__ = ["CobsError", "cobs_decode", "cobs_encode", "max_encoded_length"]

_MAX_RUN = 254  # data bytes in a full (0xFF) group


class CobsError(ValueError):
    """The input is not a valid COBS encoding (a zero byte, or a group that runs past the end)."""


def max_encoded_length(size: int) -> int:
    """The longest COBS encoding of ``size`` bytes (without the 0x00 delimiter)."""
    return size + size // _MAX_RUN + 1


def cobs_encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode ``data`` so that the result holds no 0x00 byte. ``b""`` encodes to ``b"\\x01"``."""
    data = bytes(data)  # no copy for bytes; bytearray/memoryview need .find on bytes anyway
    out = bytearray()
    n = len(data)
    start = 0
    while True:
        zero = data.find(0, start)
        end = n if zero < 0 else zero
        # A run longer than 254 bytes is cut into full groups that imply no zero.
        while end - start >= _MAX_RUN:
            out.append(0xFF)
            out += data[start : start + _MAX_RUN]
            start += _MAX_RUN
            if zero < 0 and start == end:
                # The data ends exactly after a full group: nothing (no zero) follows it.
                return bytes(out)
        out.append(end - start + 1)
        out += data[start:end]
        if zero < 0:
            return bytes(out)
        start = zero + 1


def cobs_decode(data: bytes | bytearray | memoryview) -> bytes:
    """Decode one COBS-encoded frame (without its 0x00 delimiter).

    Raises :class:`CobsError` if ``data`` is empty, holds a 0x00 byte, or a group's code byte
    points past the end of the data.
    """
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise CobsError("empty input is not a COBS encoding (the shortest one is b'\\x01')")
    if data.find(0) >= 0:
        raise CobsError(f"a zero byte at offset {data.find(0)}: COBS data holds no zeros")
    out = bytearray()
    i = 0
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            raise CobsError(
                f"group at offset {i} announces {code - 1} data bytes but only {n - i - 1} follow"
            )
        out += data[i + 1 : end]
        i = end
        # Every group but a full one and the last stands for its data and one zero.
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
