"""The framed protocol's spec, section by section, against the emulator over a pty.

Each MUST/SHOULD of ``docs/protocols/framed.md`` has a test here whose name starts with its
section (``test_s5_...`` is section 5). The tests talk plain bytes through the pty, as a
firmware engineer's bench would: frames are built with the codec, nothing of the driver is used.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import time
from collections.abc import Callable, Iterator

import pytest
from cobs import cobs

from console.engine.clock import RealClock
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers import framed_protocol as fp
from device_drivers.crc16 import crc16_ccitt
from device_drivers.emulator import EmulatorServer, make_emulator
from device_drivers.framed_protocol import FaultFlag, Frame, FrameType, NackReason

#: A low sample rate: these tests are about answers, and the emulator shares this CPU.
RATE_HZ = 200.0
SQUARE = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 2.0)


class Bench:
    """A console's end of the pty: send frames, read every frame the machine sends."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.fd = os.open(server.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.decoder = fp.FrameDecoder()
        self.frames: list[Frame] = []
        self.seq = 0

    def raw(self, data: bytes) -> None:
        """Write ``data`` as it is."""
        os.write(self.fd, data)

    def send(self, frame_type: int, payload: bytes = b"", seq: int | None = None) -> int:
        """Send one frame (a fresh seq unless given); returns its seq."""
        if seq is None:
            self.seq = (self.seq + 1) % 256
            seq = self.seq
        head = bytes((frame_type, seq)) + payload
        body = head + crc16_ccitt(head).to_bytes(2, "little")
        self.raw(cobs.encode(body) + b"\x00")
        return seq

    def pump(self, seconds: float) -> None:
        """Read what arrives for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                with contextlib.suppress(BlockingIOError):
                    self.frames += self.decoder.feed(os.read(self.fd, 65536))

    def wait(self, match: Callable[[Frame], bool], timeout: float = 2.0) -> Frame:
        """The first frame from now on that ``match``es (earlier ones are consumed)."""
        end = time.monotonic() + timeout
        while True:
            for index, frame in enumerate(self.frames):
                if match(frame):
                    del self.frames[: index + 1]
                    return frame
            self.frames.clear()
            if time.monotonic() > end:
                raise AssertionError("no such frame from the machine")
            self.pump(0.02)

    def answer(self, seq: int) -> Frame:
        """The ACK or NACK of ``seq``."""
        return self.wait(lambda f: f.type in (FrameType.ACK, FrameType.NACK) and f.seq == seq)

    def command(self, frame_type: int, payload: bytes = b"") -> Frame:
        """Send a command, return its ACK or NACK."""
        return self.answer(self.send(frame_type, payload))

    def status(self) -> fp.Status:
        seq = self.send(FrameType.HEARTBEAT_REQUEST)
        reply = self.wait(lambda f: f.type is FrameType.STATUS and f.seq == seq)
        return fp.unpack_status(reply.payload)

    def close(self) -> None:
        os.close(self.fd)

    def reopen(self) -> None:
        """Close the port, let the machine see it go, open it again (a new console)."""
        self.close()
        end = time.monotonic() + 5.0
        while self.server.console_connected and time.monotonic() < end:
            time.sleep(0.01)
        self.fd = os.open(self.server.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.decoder.reset()
        self.frames.clear()


def nack_reason(frame: Frame) -> NackReason | int | None:
    """The reason of a NACK, None for an ACK."""
    return fp.unpack_nack(frame.payload).reason if frame.type is FrameType.NACK else None


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    server = make_emulator("framed", RealClock(), sample_rate_hz=RATE_HZ)
    server.open_pty()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bench(server: EmulatorServer) -> Iterator[Bench]:
    bench = Bench(server)
    bench.raw(b"\x00")  # section 7: the console MAY flush the machine's receiver
    bench.wait(lambda f: f.type is FrameType.HELLO)
    yield bench
    bench.close()


def ready_to_turn_on(bench: Bench, current_ua: float = 0.0) -> None:
    """A waveform and an amplitude set, as the console's connect sequence leaves it."""
    assert bench.command(FrameType.SET_WAVEFORM, fp.pack_waveform(SQUARE)).type is FrameType.ACK
    assert bench.command(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0)).type is FrameType.ACK
    if current_ua:
        assert bench.command(FrameType.OUTPUT_ON).type is FrameType.ACK
        amplitude = fp.pack_amplitude(current_ua)
        assert bench.command(FrameType.SET_AMPLITUDE, amplitude).type is FrameType.ACK


# -- 2 and 7: the connection ---------------------------------------------------------------


def test_s2_port_open_sends_hello_with_version_1_and_the_emulator_flag(bench: Bench) -> None:
    """Section 2/7: a port open is a connection event; HELLO (version 1) within 2 s."""
    bench.reopen()
    hello = fp.unpack_hello(bench.wait(lambda f: f.type is FrameType.HELLO).payload)
    assert hello.protocol_version == fp.PROTOCOL_VERSION and hello.emulator


def test_s2_port_open_turns_the_output_off_and_the_amplitude_to_0(bench: Bench) -> None:
    """Section 2: on port open the machine MUST behave as after a reboot (output off, 0 µA)."""
    ready_to_turn_on(bench, 100.0)
    assert bench.status().output_on
    bench.reopen()
    bench.wait(lambda f: f.type is FrameType.HELLO)
    status = bench.status()
    assert not status.output_on and status.amplitude_ua == 0.0


# -- 3: framing ------------------------------------------------------------------------------


def test_s3_1_empty_runs_are_ignored(bench: Bench) -> None:
    """Section 3.1: 0x00 0x00 is ignored silently; the next frame is served."""
    bench.raw(b"\x00\x00\x00")
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK


def test_s3_3_a_frame_with_a_bad_crc_is_dropped_silently(bench: Bench) -> None:
    """Section 3.3: bad CRC → no NACK (sender and seq unknown); the stream resynchronises."""
    head = bytes((FrameType.OUTPUT_OFF, 0x42))
    bad = head + ((crc16_ccitt(head) ^ 1).to_bytes(2, "little"))
    bench.raw(cobs.encode(bad) + b"\x00")
    bench.pump(0.1)
    assert not any(f.type in (FrameType.ACK, FrameType.NACK) for f in bench.frames)
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK


def test_s3_2_garbage_without_a_zero_costs_only_the_frames_it_touches(bench: Bench) -> None:
    """Section 3.2: more than 1029 bytes without 0x00 are discarded up to the next 0x00."""
    bench.raw(b"\x55" * 3000 + b"\x00")
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK


def test_s3_4_an_unknown_frame_type_is_nacked_unknown_command(bench: Bench) -> None:
    """Sections 3.4 and 9: a valid frame of an unknown type → NACK UNKNOWN_COMMAND."""
    answer = bench.command(0x7E)
    assert nack_reason(answer) is NackReason.UNKNOWN_COMMAND
    assert fp.unpack_nack(answer.payload).seq == answer.seq


@pytest.mark.parametrize("frame_type", [FrameType.ACK, FrameType.SAMPLES, FrameType.HELLO])
def test_s9_a_machine_frame_type_sent_to_the_machine_is_nacked_unknown_command(
    bench: Bench, frame_type: FrameType
) -> None:
    """Section 9: a machine → console type received by the machine → NACK UNKNOWN_COMMAND."""
    assert nack_reason(bench.command(frame_type, b"\x01")) is NackReason.UNKNOWN_COMMAND


# -- 4 and 6: seq, answers, duplicates -------------------------------------------------------


def test_s4_s6_a_query_reply_echoes_the_seq_and_comes_right_before_its_ack(bench: Bench) -> None:
    """Sections 4 and 6: IDENTITY then ACK, both with the command's seq; ACK's payload too."""
    seq = bench.send(FrameType.IDENTIFY)
    reply = bench.wait(lambda f: f.seq == seq and f.type is not FrameType.SAMPLES)
    assert reply.type is FrameType.IDENTITY
    assert fp.unpack_identity(reply.payload).serial == "FX7-EMU-0001"
    ack = bench.wait(lambda f: f.type not in (FrameType.SAMPLES, FrameType.HEARTBEAT))
    assert ack.type is FrameType.ACK and ack.seq == seq and fp.unpack_ack(ack.payload) == seq


def test_s5_capabilities_are_22_bytes_within_the_hard_limits(bench: Bench) -> None:
    """Section 5 (CAPABILITIES): 22 bytes, current_max ≤ 1000 µA, defined mask bits only."""
    seq = bench.send(FrameType.GET_CAPABILITIES)
    reply = bench.wait(lambda f: f.type is FrameType.CAPABILITIES and f.seq == seq)
    assert len(reply.payload) == 22
    caps = fp.unpack_capabilities(reply.payload)
    assert caps.current_ua[1] <= 1000.0 and caps.current_step_ua == 10.0
    assert bench.answer(seq).type is FrameType.ACK


def test_s6_a_retry_within_1_s_is_answered_again_not_applied_again(bench: Bench) -> None:
    """Section 6 (duplicates): same seq and CRC within 1 s → same answer, nothing re-applied."""
    ready_to_turn_on(bench, 100.0)
    seq = bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(50.0))
    assert bench.answer(seq).type is FrameType.ACK
    bench.command(FrameType.OUTPUT_OFF)  # amplitude 0 now; a re-applied retry would give 50
    # Not a duplicate: OUTPUT_OFF replaced the remembered command. So this one is applied.
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(30.0), seq=77)
    assert bench.answer(77).type is FrameType.ACK
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(30.0), seq=77)  # the retry
    assert bench.answer(77).type is FrameType.ACK
    assert bench.status().amplitude_ua == 30.0


def test_s6_only_the_last_command_is_remembered_an_earlier_one_resent_is_new(
    bench: Bench,
) -> None:
    """Section 6 (duplicates): the machine keeps the *last* command only, so a command resent
    after a different one (same seq and CRC, within 1 s) is applied again."""
    ready_to_turn_on(bench, 100.0)
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(50.0), seq=90)
    assert bench.answer(90).type is FrameType.ACK
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(60.0), seq=91)
    assert bench.answer(91).type is FrameType.ACK
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(50.0), seq=90)  # not the last one
    assert bench.answer(90).type is FrameType.ACK
    assert bench.status().amplitude_ua == 50.0


# -- 5: each command -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame_type",
    [
        FrameType.IDENTIFY,
        FrameType.GET_CAPABILITIES,
        FrameType.OUTPUT_ON,
        FrameType.HEARTBEAT_REQUEST,
    ],
)
def test_s5_a_payload_on_a_command_without_payload_is_bad_payload(
    bench: Bench, frame_type: FrameType
) -> None:
    """Section 5: a payload whose length differs from the table → NACK BAD_PAYLOAD."""
    ready_to_turn_on(bench)
    answer = bench.command(frame_type, b"\x00\x01")
    assert nack_reason(answer) is NackReason.BAD_PAYLOAD
    assert not bench.status().output_on  # a refused command changes nothing


def test_s5_s8_7_output_off_with_a_payload_still_turns_the_output_off(bench: Bench) -> None:
    """Sections 5 and 8.7: OUTPUT_OFF with any payload is carried out and ACKed, never NACKed."""
    ready_to_turn_on(bench, 100.0)
    assert bench.status().output_on
    assert bench.command(FrameType.OUTPUT_OFF, b"\xde\xad").type is FrameType.ACK
    status = bench.status()
    assert not status.output_on and status.amplitude_ua == 0.0


@pytest.mark.parametrize(
    "payload",
    [b"\x00" * 9, b"\x00" * 11, bytes([4]) + bytes(9), bytes(5) + bytes([3]) + bytes(4)],
    ids=["short", "long", "shape 4", "polarity 3"],
)
def test_s5_set_waveform_malformed_is_bad_payload(bench: Bench, payload: bytes) -> None:
    """Section 5 (SET_WAVEFORM): wrong length, shape > 3, polarity > 2 → BAD_PAYLOAD."""
    assert nack_reason(bench.command(FrameType.SET_WAVEFORM, payload)) is NackReason.BAD_PAYLOAD


@pytest.mark.parametrize("reversal_s", [0.001, 0.499])
def test_s5_s8_2_reversal_interval_below_500_ms_is_refused(bench: Bench, reversal_s: float) -> None:
    """Sections 1, 5 and 8.2: alternating polarity below 500 ms → OUT_OF_RANGE (MUST)."""
    fast = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, reversal_s)
    answer = bench.command(FrameType.SET_WAVEFORM, fp.pack_waveform(fast))
    assert nack_reason(answer) is NackReason.OUT_OF_RANGE


def test_s5_reversal_interval_is_ignored_unless_alternating(bench: Bench) -> None:
    """Section 5: the reversal interval is ignored for positive or negative polarity."""
    positive = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.POSITIVE, 0.0)
    assert bench.command(FrameType.SET_WAVEFORM, fp.pack_waveform(positive)).type is FrameType.ACK
    edge = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 0.5)
    assert bench.command(FrameType.SET_WAVEFORM, fp.pack_waveform(edge)).type is FrameType.ACK


@pytest.mark.parametrize("frequency_hz", [0.05, 1000.5])
def test_s5_s8_2_frequency_outside_the_hard_limits_is_refused(
    bench: Bench, frequency_hz: float
) -> None:
    """Sections 1, 5 and 8.2: frequency outside 0.1–1000 Hz → OUT_OF_RANGE."""
    waveform = Waveform(WaveShape.SQUARE, frequency_hz, 0.0, Polarity.POSITIVE, 2.0)
    answer = bench.command(FrameType.SET_WAVEFORM, fp.pack_waveform(waveform))
    assert nack_reason(answer) is NackReason.OUT_OF_RANGE


@pytest.mark.parametrize("current_ua", [15.0, 37.5, 5.0, 0.1])
def test_s5_amplitude_off_the_10_ua_step_is_refused_not_rounded(
    bench: Bench, current_ua: float
) -> None:
    """Section 5 (SET_AMPLITUDE): not a multiple of current_step → OUT_OF_RANGE, unchanged."""
    assert bench.command(FrameType.SET_AMPLITUDE, fp.pack_amplitude(20.0)).type is FrameType.ACK
    answer = bench.command(FrameType.SET_AMPLITUDE, fp.pack_amplitude(current_ua))
    assert nack_reason(answer) is NackReason.OUT_OF_RANGE
    assert bench.status().amplitude_ua == 20.0


@pytest.mark.parametrize("current_ua", [1000.1, 1010.0, 1200.0, 6553.5])
def test_s5_s8_2_amplitude_above_1000_ua_is_refused(bench: Bench, current_ua: float) -> None:
    """Sections 1, 5 and 8.2: above 1000 µA or current_max → OUT_OF_RANGE."""
    answer = bench.command(FrameType.SET_AMPLITUDE, fp.pack_amplitude(current_ua))
    assert nack_reason(answer) is NackReason.OUT_OF_RANGE


def test_s5_amplitude_0_and_the_steps_are_accepted(bench: Bench) -> None:
    """Section 5: 0 is always accepted; multiples of the step up to current_max are."""
    for current_ua in (0.0, 10.0, 300.0, 1000.0, 0.0):
        amplitude = fp.pack_amplitude(current_ua)
        assert bench.command(FrameType.SET_AMPLITUDE, amplitude).type is FrameType.ACK
        assert bench.status().amplitude_ua == current_ua


def test_s5_s8_1_output_on_before_any_waveform_is_busy(bench: Bench) -> None:
    """Sections 5 and 8.1: NACK BUSY if no waveform was set since boot or port open."""
    assert nack_reason(bench.command(FrameType.OUTPUT_ON)) is NackReason.BUSY
    assert not bench.status().output_on


def test_s5_output_on_twice_is_acked(bench: Bench) -> None:
    """Section 5 (OUTPUT_ON): ACK also if the output is already on."""
    ready_to_turn_on(bench)
    assert bench.command(FrameType.OUTPUT_ON).type is FrameType.ACK
    assert bench.command(FrameType.OUTPUT_ON).type is FrameType.ACK
    assert bench.status().output_on


def test_s5_status_answers_heartbeat_request_with_the_amplitude(bench: Bench) -> None:
    """Section 5 (STATUS): 13 bytes, the command's seq, right before the ACK."""
    ready_to_turn_on(bench, 40.0)
    seq = bench.send(FrameType.HEARTBEAT_REQUEST)
    reply = bench.wait(lambda f: f.seq == seq and f.type is FrameType.STATUS)
    assert len(reply.payload) == 13 and fp.unpack_status(reply.payload).amplitude_ua == 40.0
    assert bench.answer(seq).type is FrameType.ACK


# -- 5: what the machine sends on its own ----------------------------------------------------


def test_s5_samples_stream_from_boot_consecutively_and_heartbeats_every_100_ms(
    bench: Bench,
) -> None:
    """Section 5 (SAMPLES, HEARTBEAT): continuous, consecutive first_index, HEARTBEAT ~100 ms."""
    bench.frames.clear()
    bench.pump(0.6)
    batches = [fp.unpack_samples(f.payload) for f in bench.frames if f.type is FrameType.SAMPLES]
    beats = [f for f in bench.frames if f.type is FrameType.HEARTBEAT]
    assert len(batches) >= 3 and 3 <= len(beats) <= 8
    for before, after in itertools.pairwise(batches):
        assert after.first_index == (before.first_index + len(before)) % 2**32
        assert after.t0_us == before.t0_us + round(len(before) * 1e6 / before.rate_hz)


def test_s5_samples_index_and_t0_restart_with_machine_time_after_a_reboot(
    bench: Bench,
) -> None:
    """Section 5 (SAMPLES): first_index and t0 count from boot, as HEARTBEAT time does."""
    bench.pump(1.5)  # let the machine run for a while before it reboots
    bench.server.inject("reboot")
    bench.wait(lambda f: f.type is FrameType.HELLO)
    batch = fp.unpack_samples(bench.wait(lambda f: f.type is FrameType.SAMPLES).payload)
    beat = fp.unpack_heartbeat(bench.wait(lambda f: f.type is FrameType.HEARTBEAT).payload)
    assert beat.machine_time_us < 500_000
    assert batch.t0_us < 500_000
    assert batch.first_index < 0.5 * RATE_HZ
    assert abs(batch.first_index - batch.t0_us * RATE_HZ / 1e6) <= 1


def test_s5_s8_3_over_current_trip_sends_a_heartbeat_at_once(bench: Bench) -> None:
    """Sections 5 and 8.3: trip → output off, 0 µA, OVER_CURRENT_TRIP latched, and a HEARTBEAT
    "at once": before any further SAMPLES frame. OUTPUT_ON is FAULT_ACTIVE until OUTPUT_OFF."""
    ready_to_turn_on(bench, 100.0)
    bench.pump(0.1)
    bench.frames.clear()
    bench.server.inject("over_current")
    tripped = bench.wait(
        lambda f: (
            f.type is FrameType.HEARTBEAT
            and fp.unpack_heartbeat(f.payload).faults & FaultFlag.OVER_CURRENT_TRIP
        )
    )
    assert not fp.unpack_heartbeat(tripped.payload).output_on
    status = bench.status()
    assert status.faults & FaultFlag.OVER_CURRENT_TRIP and status.amplitude_ua == 0.0
    assert nack_reason(bench.command(FrameType.OUTPUT_ON)) is NackReason.FAULT_ACTIVE
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK
    assert not bench.status().faults & FaultFlag.OVER_CURRENT_TRIP


def test_s5_heartbeat_at_once_means_no_samples_frame_between_trip_and_heartbeat(
    bench: Bench,
) -> None:
    """Section 5 (HEARTBEAT, "at once"): the trip's HEARTBEAT follows the SAMPLES frame that
    shows the over-current, with no other SAMPLES frame in between."""
    ready_to_turn_on(bench, 100.0)
    bench.pump(0.1)
    bench.frames.clear()
    bench.server.inject("over_current")
    bench.pump(0.4)
    kinds = [
        (f.type, f.payload) for f in bench.frames if f.type is not FrameType.ERROR
    ]  # the ERROR about the trip may come first
    first_trip = next(
        i
        for i, (kind, payload) in enumerate(kinds)
        if kind is FrameType.HEARTBEAT
        and fp.unpack_heartbeat(payload).faults & FaultFlag.OVER_CURRENT_TRIP
    )
    last_samples = max(
        i for i, (kind, _) in enumerate(kinds[:first_trip]) if kind is FrameType.SAMPLES
    )
    high = fp.unpack_samples(kinds[last_samples][1]).current_ua
    assert abs(high).max() > 100.0 * 1.2 + 20.0, "the frame before the HEARTBEAT shows the trip"
    earlier = [
        fp.unpack_samples(payload).current_ua
        for kind, payload in kinds[:last_samples]
        if kind is FrameType.SAMPLES
    ]
    assert all(abs(c).max() <= 100.0 * 1.2 + 20.0 for c in earlier if len(c))


# -- 7 and 8: silence, watchdog, boot --------------------------------------------------------


def test_s7_s8_4_silence_with_the_output_on_sets_watchdog_and_says_so_at_once(
    bench: Bench,
) -> None:
    """Sections 7 and 8.4: 500 ms without a valid frame → output off, 0 µA, WATCHDOG latched
    (OUTPUT_ON refused until OUTPUT_OFF), and a HEARTBEAT at once."""
    ready_to_turn_on(bench, 100.0)
    silent_from = time.monotonic()
    beat = bench.wait(
        lambda f: (
            f.type is FrameType.HEARTBEAT
            and fp.unpack_heartbeat(f.payload).faults & FaultFlag.WATCHDOG
        ),
        timeout=3.0,
    )
    # Not before 500 ms; the upper bound is generous, for a busy computer's sake.
    assert 0.45 < time.monotonic() - silent_from < 2.0
    assert not fp.unpack_heartbeat(beat.payload).output_on
    status = bench.status()
    assert status.amplitude_ua == 0.0 and status.faults & FaultFlag.WATCHDOG
    assert nack_reason(bench.command(FrameType.OUTPUT_ON)) is NackReason.FAULT_ACTIVE
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK
    assert not bench.status().faults & FaultFlag.WATCHDOG


def test_s7_any_valid_frame_keeps_the_watchdog_quiet(bench: Bench) -> None:
    """Section 7: every valid frame (good CRC, any type) restarts the 500 ms silence timer,
    also one the machine NACKs as unknown."""
    ready_to_turn_on(bench, 100.0)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        bench.send(0x7E)  # no such type: NACKed UNKNOWN_COMMAND, but a valid frame
        bench.pump(0.1)
    status = bench.status()
    assert status.output_on and not status.faults & FaultFlag.WATCHDOG


def test_s8_4_silence_with_the_output_off_sets_the_amplitude_to_0(bench: Bench) -> None:
    """Section 8.4: after 500 ms of silence the amplitude is 0 even with the output off (and
    no WATCHDOG: the output was not on)."""
    ready_to_turn_on(bench)
    assert bench.command(FrameType.SET_AMPLITUDE, fp.pack_amplitude(80.0)).type is FrameType.ACK
    assert bench.status().amplitude_ua == 80.0
    bench.pump(0.8)
    status = bench.status()
    assert status.amplitude_ua == 0.0 and not status.output_on
    assert not status.faults & FaultFlag.WATCHDOG


def reboot(bench: Bench) -> None:
    """A machine that was on at 100 µA reboots; the bench waits for its HELLO."""
    ready_to_turn_on(bench, 100.0)
    bench.server.inject("reboot")
    bench.wait(lambda f: f.type is FrameType.HELLO)


def test_s8_1_after_a_reboot_the_output_is_off_and_the_amplitude_0(bench: Bench) -> None:
    """Section 8.1: boot leaves the output off and the amplitude 0."""
    reboot(bench)
    status = bench.status()
    assert not status.output_on and status.amplitude_ua == 0.0


def test_s8_1_after_a_reboot_no_waveform_is_set(bench: Bench) -> None:
    """Sections 5 and 8.1: boot leaves no waveform set, so OUTPUT_ON is NACK BUSY."""
    reboot(bench)
    assert nack_reason(bench.command(FrameType.OUTPUT_ON)) is NackReason.BUSY


def test_s8_7_output_off_is_acked_in_every_state(bench: Bench) -> None:
    """Section 8.7: OUTPUT_OFF is accepted in every state (boot, on, tripped), never NACKed."""
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK
    ready_to_turn_on(bench, 100.0)
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK
    assert bench.command(FrameType.OUTPUT_OFF).type is FrameType.ACK


def _answers_in_order(bench: Bench, frames: list[tuple[int, bytes]]) -> tuple[list, list]:
    """Send ``frames`` in one write; the (seq, NACK reason) of each ACK/NACK, as sent and as
    answered."""
    data, sent = b"", []
    for frame_type, payload in frames:
        bench.seq = (bench.seq + 1) % 256
        head = bytes((frame_type, bench.seq)) + payload
        data += cobs.encode(head + crc16_ccitt(head).to_bytes(2, "little")) + b"\x00"
        sent.append(bench.seq)
    bench.raw(data)
    got: list[tuple[int, object]] = []
    end = time.monotonic() + 5.0
    while len(got) < len(sent) and time.monotonic() < end:
        bench.pump(0.05)
        got += [
            (f.seq, nack_reason(f))
            for f in bench.frames
            if f.type in (FrameType.ACK, FrameType.NACK)
        ]
        bench.frames.clear()
    bench.pump(0.1)  # nothing more may come
    got += [
        (f.seq, nack_reason(f)) for f in bench.frames if f.type in (FrameType.ACK, FrameType.NACK)
    ]
    return sent, got


def test_s6_commands_and_refusals_arriving_together_are_answered_in_order(bench: Bench) -> None:
    """Section 6: every command is answered by exactly one ACK or NACK; a keep-alive, an
    unknown type, a bad payload and a limit refused among accepted commands in one read are
    answered in the order they came (a NACK is never held back behind later ACKs)."""
    sent, got = _answers_in_order(
        bench,
        [
            (FrameType.HEARTBEAT_REQUEST, b""),
            (0x7E, b""),
            (FrameType.IDENTIFY, b""),
            (FrameType.GET_CAPABILITIES, b"\x01"),
            (FrameType.SET_AMPLITUDE, fp.pack_amplitude(1200.0)),
            (FrameType.HEARTBEAT_REQUEST, b""),
            (FrameType.OUTPUT_OFF, b""),
        ],
    )
    assert [seq for seq, _ in got] == sent
    assert [reason for _, reason in got] == [
        None,
        NackReason.UNKNOWN_COMMAND,
        None,
        NackReason.BAD_PAYLOAD,
        NackReason.OUT_OF_RANGE,
        None,
        None,
    ]


def test_s5_a_machine_that_fell_behind_sends_what_it_owes_at_once_in_full_frames() -> None:
    """Section 5 (SAMPLES): batches at most 20 ms apart; a machine held up (here the emulator's
    loop, stopped for 200 ms as a busy computer would) sends the samples it owes at once, in
    full frames, not in late small ones. At 2 kS/s that is 400 samples: 200 a frame."""
    server = make_emulator("framed", RealClock(), sample_rate_hz=2000.0)
    server.open_pty()
    server.start()
    bench = Bench(server)
    try:
        bench.wait(lambda f: f.type is FrameType.HELLO)
        arrivals: list[tuple[float, fp.SampleBatch]] = []

        def read(seconds: float) -> None:
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                ready, _, _ = select.select([bench.fd], [], [], left)
                if ready:
                    with contextlib.suppress(BlockingIOError):
                        data = os.read(bench.fd, 65536)
                        now = time.monotonic()
                        arrivals.extend(
                            (now, fp.unpack_samples(f.payload))
                            for f in bench.decoder.feed(data)
                            if f.type is FrameType.SAMPLES
                        )

        read(0.2)
        bench.send(FrameType.HEARTBEAT_REQUEST)  # the console is alive
        with server._lock:  # the loop stops at its next send or flush
            time.sleep(0.2)
            released = time.monotonic()
        read(0.2)
        after = [(at, batch) for at, batch in arrivals if at >= released]
        assert after, "no SAMPLES after the stall"
        first_at = after[0][0]
        burst = [batch for at, batch in after if at <= first_at + 0.02]
        assert max(len(batch) for batch in burst) == server.adapter.batch_samples
        assert sum(len(batch) for batch in burst) >= 350  # what the 200 ms held back
        assert first_at - released < 0.5  # at once; the bound only allows for a busy computer
        batches = [batch for _, batch in arrivals]
        for before, following in itertools.pairwise(batches):  # none lost, none repeated
            assert following.first_index == before.first_index + len(before)
    finally:
        bench.close()
        server.stop()


def test_s3_receivers_count_dropped_frames_by_reason() -> None:
    """Section 3 (Receiving): what a receiver drops it counts, by reason: bad COBS, bad CRC, an
    unknown type, too short, too long; and a valid frame after them is still read."""
    decoder = fp.FrameDecoder()
    good = fp.encode_frame(Frame(FrameType.HEARTBEAT_REQUEST, 7))
    head = bytes((FrameType.HEARTBEAT_REQUEST, 8))
    bad_crc = cobs.encode(head + ((crc16_ccitt(head) ^ 1).to_bytes(2, "little"))) + b"\x00"
    unknown_head = bytes((0x7E, 9))
    unknown = cobs.encode(unknown_head + crc16_ccitt(unknown_head).to_bytes(2, "little"))
    too_long_body = bytes((FrameType.SAMPLES, 1)) + bytes(fp.MAX_BODY_SIZE)
    too_long = cobs.encode(too_long_body + crc16_ccitt(too_long_body).to_bytes(2, "little"))
    stream = (
        b"\x05\x01\x02\x00"  # COBS that points past its run: invalid
        + bad_crc
        + unknown
        + b"\x00"
        + cobs.encode(b"\x24\x01")
        + b"\x00"  # a body of 2 bytes: too short
        + too_long
        + b"\x00"
        + good
    )
    assert decoder.feed(stream) == [Frame(FrameType.HEARTBEAT_REQUEST, 7)]
    counted = {reason: n for reason, n in decoder.dropped_by_reason.items() if n}
    assert counted == {
        fp.DropReason.BAD_COBS: 1,
        fp.DropReason.BAD_CRC: 1,
        fp.DropReason.UNKNOWN_TYPE: 1,
        fp.DropReason.TOO_SHORT: 1,
        fp.DropReason.TOO_LONG: 1,
    }
    assert decoder.frames_dropped == 5 and decoder.frames_ok == 1
