"""One SQLAlchemy engine per records database, reused while the process runs.

Every engine brings its own dialect, and SQLAlchemy's ORM keeps the statements it compiled for
each mapped table per dialect (up to about 150 each): a process that opened the same records
afresh for every session (a script running ``mc-console run`` one after another) pinned a
dialect and its statements each time, about 0.3 MiB a session until those caches filled. So a
records database opened again gets the engine it had; :meth:`RecordStore.close` still lets every
connection go (the engine keeps no open file or socket), and only the few most recently used
databases keep an engine at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.engine import Engine

#: Databases whose engine is kept for the next opening (the window's records, a run's, a
#: replayed journal's); an engine pushed out is disposed.
KEPT_ENGINES = 4

_engines: OrderedDict[str, Engine] = OrderedDict()
_lock = threading.Lock()


def engine_for(url: str, make: Callable[[], Engine]) -> Engine:
    """The engine of ``url``: the one made before in this process, or ``make()``'s (which may
    raise; nothing is kept then)."""
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            _engines.move_to_end(url)
            return engine
    engine = make()
    with _lock:
        kept = _engines.setdefault(url, engine)  # another thread may have made one meanwhile
        _engines.move_to_end(url)
        pushed_out = []
        while len(_engines) > KEPT_ENGINES:
            _, oldest = _engines.popitem(last=False)
            pushed_out.append(oldest)
    if kept is not engine:
        engine.dispose()
    for oldest in pushed_out:
        oldest.dispose()
    return kept
