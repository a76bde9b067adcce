"""A framed machine whose HELLO gives a protocol version this console does not speak is refused
when it is connected, with a sentence naming both versions; nothing but OUTPUT_OFF is sent to it
(framed spec, section 5: "The console refuses a machine whose version it does not speak")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from console.engine.clock import RealClock
from console.plugins import load_plugins
from console.session import Console, ConsoleError
from device_drivers import framed_protocol as wire
from device_drivers.emulator import make_emulator

pytestmark = pytest.mark.timeout(60)


def _machine_saying_version(version: int) -> Iterator[tuple[str, list[wire.Frame]]]:
    """The framed emulator on a pty, its HELLO giving ``version``; and the frames it heard."""
    server = make_emulator("framed", RealClock())
    hello = wire.encode_frame(
        wire.Frame(wire.FrameType.HELLO, 1, wire.pack_hello(version, emulator=True))
    )
    server.adapter.hello = lambda: hello  # type: ignore[method-assign]
    heard: list[wire.Frame] = []
    decoder = wire.FrameDecoder()
    feed = server.adapter.feed

    def listening(data: bytes) -> list:  # type: ignore[type-arg]
        heard.extend(decoder.feed(data))
        return feed(data)

    server.adapter.feed = listening  # type: ignore[method-assign]
    port = server.open_pty()
    server.start()
    try:
        yield port, heard
    finally:
        assert not server.firmware.machine.output_on
        server.stop()


@pytest.fixture
def version_2_machine() -> Iterator[tuple[str, list[wire.Frame]]]:
    yield from _machine_saying_version(2)


def test_a_machine_of_another_version_is_refused_at_connect(
    version_2_machine: tuple[str, list[wire.Frame]],
) -> None:
    port, heard = version_2_machine
    console = Console(load_plugins())
    with pytest.raises(ConsoleError) as refused:
        console.connect("framed", port=port)
    said = str(refused.value)
    assert "speaks version 2 of the framed protocol" in said
    assert "this console speaks version 1" in said
    assert console.connection is None
    sent = {frame.type for frame in heard}
    # Heard: the output-off of the closing port; never IDENTIFY, a waveform or OUTPUT_ON.
    assert sent == {wire.FrameType.OUTPUT_OFF}, sent


def test_mc_console_says_so_in_one_sentence(
    version_2_machine: tuple[str, list[wire.Frame]],
) -> None:
    port, _heard = version_2_machine
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "run", "--driver", "framed", "--port", port,
         "--protocol", "toning"],
        capture_output=True, text=True, timeout=50, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "speaks version 2 of the framed protocol" in done.stderr
