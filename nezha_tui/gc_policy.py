"""When Python's cyclic garbage collector may run: the one place that turns it off and on.

Reference counting frees almost everything nezha-tui allocates; the cyclic collector
only finds cycles.  It runs when allocations outnumber deallocations by a threshold,
and each full pass walks every tracked object.  Two moments of a frame allocate a
lot that survives, so the collector would run in the middle of them, again and again,
for nothing:

* **Decoding** (:func:`collection_paused`, used by ``api.decode.decode_frame``): a
  frame allocates ~10 objects per server that all survive; measured, the collector
  took 30-50 % of the decode time at 10,000 servers.
* **Following a frame until it is on screen** (:class:`FramePause`, used by the app):
  the frame's tuples, the rows, the strips and Textual's caches on each (~0.5-1 ms at
  1,000 servers; one pass of 3-5 ms right after decoding 10,000).  Paused from the
  frame's bytes arriving until the paint, the collector runs once, after it.

Nothing is lost while paused: reference counting frees as usual and the collector
catches up when it is enabled again.  A pause never outlives the frame: the app
resumes on the paint, a status change, its 1 s tick and unmount.

* **Long-lived objects** (:func:`freeze_long_lived`, after the first frame): modules,
  widgets, CSS and the first fleet, 100,000+ objects that every full collection would
  re-scan (50-100 ms for one frame, every few frames) are moved to the permanent
  generation that collections skip.

Both pauses only ever re-enable what they disabled themselves: inside an app pause the
decoder's pause does nothing, and a collector someone else turned off stays off.
No Textual here: the API layer uses it too.
"""

from __future__ import annotations

import gc

__all__ = ["FramePause", "collection_paused", "freeze_long_lived"]


class collection_paused:
    # lower case: it reads as a function, ``with collection_paused():``
    """No cyclic collection inside the ``with`` block (when it was enabled on entry).

    A class rather than ``@contextmanager``: it runs once per frame and costs a fraction
    of a generator-based one.
    """

    __slots__ = ("_disabled",)

    def __enter__(self) -> None:
        self._disabled = gc.isenabled()
        if self._disabled:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._disabled:
            gc.enable()


class FramePause:
    """A pause of the cyclic collector that spans callbacks: :meth:`pause` when a frame's
    bytes arrive, :meth:`resume` once it is on screen.  Both are idempotent and cheap."""

    __slots__ = ("paused",)

    def __init__(self) -> None:
        self.paused = False
        """This object disabled the collector and has not enabled it again."""

    def pause(self) -> None:
        if self.paused:
            return
        if gc.isenabled():
            gc.disable()
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            gc.enable()


_frozen = False


def freeze_long_lived() -> None:
    """Take what exists now out of the cyclic collector's view (once per process).

    ``gc.collect()`` first, so no garbage is frozen; then ``gc.freeze()`` moves every
    tracked object to the permanent generation (reference counting still frees them).
    Once per process: a test run builds many apps, and objects frozen with one of them
    are never reclaimed by the cyclic collector.
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
