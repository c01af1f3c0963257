"""The simulated Nezha Dashboard (``nezha-tui --demo`` and ``nezha-tui demo-server``).

Imports are lazy so that ``import nezha_tui.demo`` costs nothing until a
server is built.  Public names: :class:`DemoOptions`, :class:`DemoServer`,
:class:`DemoFaults`, :func:`start_demo_in_thread`, :class:`DemoThread`,
:func:`run_demo_server`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoOptions", "DemoServer", "DemoFaults", "DemoThread", "start_demo_in_thread", "run_demo_server"]

_WHERE = {
    "DemoOptions": "server", "DemoServer": "server", "DemoFaults": "faults",
    "DemoThread": "thread", "start_demo_in_thread": "thread", "run_demo_server": "cli",
}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
