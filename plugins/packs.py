"""Built-in protocol plugin: **packs**, the protocols written as TOML files.

Loads every pack shipped in ``resources/packs/`` and every pack in the trainer's packs folder
(``$MC_CONSOLE_PACKS_DIR`` to use another folder), so a saved pack
appears beside lifting, toning and circulation. A broken file is returned as its
:class:`console.api.PackError`: the console lists it, with its line and reason, among the
refused items of this plugin (``mc-console plugins``, Help ▸ Plugins…) and registers the rest.

A pack never takes the id of an installed plugin's protocol (built-in or a vendor's): the console
claims the packs' ids after every other plugin's, and refuses such a pack, naming the owner.
"""

from __future__ import annotations

from console.api import Protocol, ProtocolError, hookimpl, load_packs

mc_console_api = "1.1"


@hookimpl
def register_protocols() -> list[Protocol | ProtocolError]:
    """The valid packs, then one :class:`~console.api.PackError` for each broken file."""
    protocols, errors = load_packs()
    return [*protocols, *errors]
