"""Events, alert rules and where they go (no Textual here).

- :mod:`.event`: the :class:`~.event.Event` model every other part passes around.
- :mod:`.rules`: alert rules (built-in and from config.toml) and their parsing.
- :mod:`.rule_engine`: evaluates the metric rules per frame, vectorised.
- :mod:`.detector`: turns frames, service overviews and stream states into events.
- :mod:`.feed`: the in-memory list of recent events the UI reads (unseen counter, active alerts).
- :mod:`.eventlog`: the JSON-lines file kept across restarts.
- :mod:`.notify`: terminal notifications (OSC 777 / 9 / 99, tmux passthrough) and the command hook.
- :mod:`.pipeline`: wires them together for the app and for ``nezha-tui watch``.
"""
