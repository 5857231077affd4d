"""The ledger dashboard at /desk/ on the desk's HTTP server (issue #17): one-time login links from chat, short
sessions, read-only pages, the XLSX export; and /media/ for the charts /ledger sends to the web chat."""

from bot.dashboard.server import Dashboard

__all__ = ["Dashboard"]
