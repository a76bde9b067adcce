"""Checking the port or network address an operator gives for a machine (no Qt here).

A driver's factory receives ``port`` as typed: a serial device (``/dev/ttyUSB0``, ``COM3``) or a
pyserial URL (``socket://host:port``, ``rfc2217://host:port``, ``loop://``, a vendor's own
scheme such as ``acme-sim://``). Only what is certainly wrong is refused here, with one sentence
saying what to give instead; anything else is the driver's to judge when it opens the port.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from console.drivers import DriverInfo, Transport

#: URL schemes whose address is ``host:port`` (pyserial's network ports).
NETWORK_SCHEMES = ("socket", "rfc2217")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_DEVICE = re.compile(r"^COM\d+$", re.IGNORECASE)  # a Windows serial port, not a host


def needs_address(info: DriverInfo) -> bool:
    """True when the operator must say where the machine is: every machine but a simulated one."""
    return not info.simulated


def address_examples(info: DriverInfo) -> str:
    """Examples of what to type for ``info``'s machine, for tooltips and messages."""
    if info.transport is Transport.NETWORK:
        return "socket://192.168.1.20:5025"
    return "/dev/ttyUSB0, COM3 or socket://host:port"


def address_word(info: DriverInfo) -> str:
    """ "address" for a machine on the network, "port" for one on a cable."""
    return "address" if info.transport is Transport.NETWORK else "port"


def address_problem(info: DriverInfo, port: str | None) -> str | None:
    """Why ``port`` cannot reach ``info``'s machine, as one sentence; ``None`` if it may."""
    if not needs_address(info):
        return None
    word = address_word(info)
    text = (port or "").strip()
    if not text:
        return f"Give the {word} of the {info.name}, for example {address_examples(info)}."
    if any(character.isspace() for character in text):
        return f"The {word} {text!r} has a space in it; give it without spaces."
    if "://" not in text:
        if info.transport is Transport.NETWORK:
            host_like = "/" not in text and "\\" not in text and not _DEVICE.match(text)
            example = (
                (text if ":" in text else f"{text}:5025") if host_like else "192.168.1.20:5025"
            )
            return (
                f"Give the {info.name}'s address as a URL with its port number, for example "
                f"socket://{example}."
            )
        return None  # a device name: only opening it can tell whether it exists
    scheme, _, rest = text.partition("://")
    if not _SCHEME.match(scheme):
        return f"{text!r} does not start with a URL scheme such as socket://; check the {word}."
    if scheme.lower() in NETWORK_SCHEMES:
        return _host_port_problem(text, scheme, rest)
    return None  # loop://, a vendor's own scheme...: the driver knows what it takes


def _host_port_problem(text: str, scheme: str, rest: str) -> str | None:
    example = f"{scheme}://192.168.1.20:5025"
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        number = parts.port
    except ValueError:
        return f"{text!r} has no valid port number (1 to 65535) after the host; give {example}."
    if not parts.hostname:
        return f"{text!r} names no host; give the machine's host and port, as in {example}."
    if number is None or number == 0:
        return f"{text!r} has no port number after the host; give one, as in {example}."
    return None
