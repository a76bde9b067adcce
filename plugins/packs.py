"""Built-in protocol plugin: **packs**, the protocols written as TOML files.

Loads every pack shipped in ``resources/packs/`` and every pack in the trainer's packs folder
(:func:`console.packs.packs_dir`, ``$MC_CONSOLE_PACKS_DIR`` to use another), so a saved pack
appears beside lifting, toning and circulation. A broken file is returned as its
:class:`console.packs.PackError`: the console lists it, with its line and reason, among the
refused items of this plugin (``mc-console plugins``, Help ▸ Plugins…) and registers the rest.
"""

from __future__ import annotations

from console import hookimpl
from console.packs import load_packs
from console.protocols import Protocol, ProtocolError

mc_console_api = "1.0"


# tryfirst: PluginHost collects in the order of pluggy's implementation list, where tryfirst
# implementations come last. Packs are the clinic's own files and are read by a built-in plugin
# that sorts before "toning": claiming last means a pack can never take the id of an installed
# plugin's protocol (built-in or vendor); it is refused instead, naming the owner.
@hookimpl(tryfirst=True)
def register_protocols() -> list[Protocol | ProtocolError]:
    """The valid packs, then one :class:`~console.packs.PackError` for each broken file."""
    protocols, errors = load_packs()
    return [*protocols, *errors]
