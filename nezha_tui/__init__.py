"""nezha-tui: a terminal client for the Nezha server-monitoring Dashboard."""

__version__ = "0.1.0"
