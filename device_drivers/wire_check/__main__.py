"""``python -m device_drivers.wire_check``: check a machine on a port against its protocol spec."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from device_drivers.wire_check.link import DEFAULT_BAUD, Link, LinkError
from device_drivers.wire_check.runner import all_passed, run_checks

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Walks a machine through the required behaviour of its wire protocol (docs/protocols/scpi.md or
docs/protocols/framed.md): the handshake, each command and its answer, each error answer,
malformed input, the keep-alive watchdog and a reconnect. Prints each check as PASSED or FAILED
with its spec section and, on failure, the bytes sent and received. Exit status: 0 all passed,
1 a check failed, 2 usage error (bad arguments, no such port)."""

SAFETY = """\
Safety: run it with no electrodes on anyone. The checker turns the output on only at the
machine's minimum current (CURR min in its capabilities), for at most about a second (the
watchdog and reconnect checks), and always ends by sending output-off, also after a failure,
an error or Ctrl-C."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one sentence (exit 2), not the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m device_drivers.wire_check",
        description=DESCRIPTION,
        epilog=SAFETY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--protocol", choices=("scpi", "framed"), required=True)
    parser.add_argument(
        "--port",
        required=True,
        metavar="URL",
        help="a device (/dev/ttyACM0, /dev/pts/3, COM3) or a pyserial URL (socket://host:port)",
    )
    parser.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD, help=f"baud rate (default {DEFAULT_BAUD})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the checks; the exit status says whether all passed."""
    args = _parser().parse_args(argv)
    if args.protocol == "scpi":
        from device_drivers.wire_check.scpi import CHECKS
        from device_drivers.wire_check.scpi import ScpiBench as BenchType
    else:
        from device_drivers.wire_check.framed import CHECKS
        from device_drivers.wire_check.framed import FramedBench as BenchType
    link = Link(args.port, args.baud)
    try:
        link.open()
    except LinkError as error:
        print(f"wire_check: {error}.", file=sys.stderr)
        return EXIT_USAGE
    bench = BenchType(link)
    print(f"wire check: {args.protocol} machine on {args.port}, against {bench.spec}", flush=True)
    try:
        results = run_checks(bench, CHECKS, sys.stdout)
    except KeyboardInterrupt:
        print("interrupted: output-off was sent.", flush=True)
        return EXIT_FAILED
    return EXIT_PASSED if all_passed(results, len(CHECKS)) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
