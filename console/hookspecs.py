"""The plugin contract of Microcurrent Console — this file is the plugin author's manual.

A plugin is a Python module (or an object) that implements some of the hooks below, declared
as an entry point in the ``mc_console`` group of its distribution's ``pyproject.toml``::

    [project.entry-points.mc_console]
    acme_stim = "acme_stim.plugin"        # a module, never a class

The module declares the plugin-API version it was written for, imports everything it uses from
:mod:`console.api` (the public plugin API: no other ``console`` module is part of the contract),
and marks its hooks::

    from console.api import DriverInfo, hookimpl

    mc_console_api = "1.1"

    @hookimpl
    def register_drivers():
        return [DriverInfo(id="acme-s2", ...)]

Rules the console enforces:

* **Version.** ``mc_console_api`` is ``"MAJOR.MINOR"``. A plugin is loaded when its major
  version equals the console's and its minor is not newer (:data:`PLUGIN_API_VERSION`);
  otherwise it is refused with a message that names both versions.
* **Isolation.** A plugin that fails to import, implements an unknown hook, or raises inside
  a hook is disabled and reported (``mc-console plugins``); the others keep working.
* **Order.** Hooks are called as pluggy documents: the plugin registered last is called first
  (LIFO; built-ins are registered before vendors' plugins, in entry-point name order),
  ``@hookimpl(tryfirst=True)`` before the others, ``@hookimpl(trylast=True)`` after them.
* **No hook wrappers.** Each implementation is called on its own (see *Isolation*), so a plugin
  with a hook wrapper (``wrapper=True`` or ``hookwrapper=True``) is refused when it registers.
* **Unique ids.** A driver or protocol id belongs to the plugin registered first; the same id
  from a later plugin is refused and reported, whatever its ``tryfirst``/``trylast``. A protocol
  pack (a TOML file of the clinic's) never takes an installed plugin's protocol id.
* **Safety.** Nothing a plugin returns can weaken the safety rules: capabilities are clamped
  to the hard limits and every protocol step is validated before it can run.
* **Observers must be quick.** The ``session_*``, ``step_started`` and ``safety_event`` hooks
  are called from the console's event thread, never from the engine's safety loop, in the order
  the events happened. A slow observer delays other observers, not the treatment.

Set ``MC_CONSOLE_DISABLE=name,name`` to block plugins by entry-point name, and
``MC_CONSOLE_TRACE=1`` to log every hook call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from console.api import (
        DriverInfo,
        Protocol,
        SafetyEvent,
        SessionInfo,
        SessionSummary,
        Step,
    )

#: The project name shared by the hook markers and the entry-point group.
PROJECT_NAME = "mc_console"
#: The plugin-API version of this console (MAJOR.MINOR).
PLUGIN_API_VERSION = "1.1"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate your hook functions with this marker.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_drivers() -> list[DriverInfo]:
    """Return the machine drivers this plugin provides.

    Called once, when the console starts, after every plugin is loaded.

    :return: a list of :class:`console.api.DriverInfo`. Each has a unique ``id`` (used on the
        command line: ``mc-console run --driver ID``), metadata (vendor, model, transport,
        :class:`console.api.Capabilities`) and a ``factory(**options)`` that returns a
        :class:`console.api.Driver`. The factory receives ``clock`` and, for machines on a port,
        ``port``; a simulated machine's factory may also receive ``skin``, a training scenario
        client's :class:`console.api.ClientSkin`. It must ignore options it does not use. Do not
        open ports here: the console calls the factory, then ``open()``, only when the operator
        connects. Keep this hook cheap, as it runs at every start: import the
        driver's own module inside the factory, as the console's built-in serial drivers do.

    An id already registered by another plugin is refused and reported; the rest of your list is
    still registered.

    **The driver your factory returns** subclasses :class:`console.api.Driver`:

    ==========================  ==============================================================
    ``open()``                  connect and wait until the machine is ready (its hello); raise
                                :class:`console.api.DriverError` with a sentence on failure
    ``identify()``              :class:`~console.api.DeviceIdentity`: model, serial, firmware
    ``configure(waveform)``     shape, frequency, polarity, reversal interval — not the amplitude
    ``set_amplitude(µA)``       apply this peak current now; never ramp on your own — the engine
                                sends a rising sequence, 0 µA first
    ``start_output()``          output on at the present amplitude
    ``stop_output()``           output off NOW: callable from any thread, idempotent, fast (a few
                                ms), never blocks on your reader thread, never raises for "off"
    ``read_samples()``          every measurement since the last call as a
                                :class:`~console.api.SampleBlock` (time on the console's
                                clock in s, current in µA, load voltage in V); never blocks
    ``status()``                :class:`~console.api.DeviceStatus`: when the machine was last
                                heard from (heartbeat or sample), output state, fault flags
    ``close()``                 output off, release the port; idempotent
    ==========================  ==============================================================

    Set ``capabilities`` (a :class:`console.api.Capabilities`) on the driver to what the
    connected machine states; the core checks every step against them (and clamps them to the hard
    limits) before anything is sent. Raise :class:`~console.api.DriverError` for anything the
    operator must know; any exception from a driver call turns the output off and ends the session
    *interrupted*. A machine that goes silent for 0.5 s, or a call that hangs for 1 s, does the same.
    After a reconnect, never turn the output back on by yourself. A simulated machine sets
    ``simulated=True`` in its :class:`~console.api.DriverInfo`; an emulator of a real machine
    (one that can drive no current) sets the driver attribute ``emulated = True`` once ``open()``
    has heard it say so. Only those may run on a clock faster than real time; a real machine
    always runs in real time. The example vendor package (``examples/acme-stim``) is a complete
    driver plugin with its own emulator.
    """


@hookspec
def register_protocols() -> list[Protocol]:
    """Return the treatment protocols this plugin provides.

    Called once, when the console starts, after every plugin is loaded.

    :return: a list of :class:`console.api.Protocol`. Each is validated
        (:func:`console.api.validate_protocol`): zones must exist, every step's waveform must
        be within the hard limits (current 10–1000 µA in 10 µA steps, 0.1–1000 Hz, a ramp), durations
        sensible, a recommended series stated. An invalid protocol is refused with every problem
        listed; a valid one whose id is taken is refused too.

    A plugin that reads protocols from files (the built-in ``packs`` plugin reads TOML protocol
    packs) may put a :class:`console.api.ProtocolError` in the list for a file it could not
    read, instead of raising (which would disable the whole plugin). The console lists it among
    the plugin's refused items as ``protocol pack: <the error>`` — so make ``str()`` name the file,
    the line and the reason, as :class:`console.api.PackError` does — and registers the rest.
    """


@hookspec
def session_started(session: SessionInfo) -> None:
    """A treatment's application stage has started (before the output first turns on).

    :param session: who, what and on which machine: protocol id and version, machine identity,
        whether it is a simulation, the client reference if any, the start time.
    """


@hookspec
def step_started(session: SessionInfo, index: int, step: Step) -> None:
    """The engine moved to a new step: the operator is cued to move the probes to ``step.zone``.

    :param session: the running session.
    :param index: 0-based index of the step in the protocol.
    :param step: the step, with its zone, waveform, duration and technique.
    """


@hookspec
def safety_event(session: SessionInfo, event: SafetyEvent) -> None:
    """The safety supervisor acted: contact lost, watchdog, over-current, emergency stop, ...

    By the time this is called the output is already off (or was never turned on). Use it to log
    or alert; it cannot undo or delay the action.

    :param session: the running session.
    :param event: kind, time, a sentence for the operator, and the action taken.
    """


@hookspec
def session_ended(session: SessionInfo, summary: SessionSummary) -> None:
    """The application stage ended: finished, aborted or interrupted.

    :param session: the session that ended.
    :param summary: the final state, the reason, per-step delivery (time under current, mean
        current, charge, mean impedance) and every safety event.
    """
