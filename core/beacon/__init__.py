"""Beacon services over Redis: embedded redis-server processes, the shared connection,
persistent settings, live channels and cross-process locks (DESIGN.md §4 keys).

Submodules are imported on demand (`from blisstango.core.beacon import connection`),
so a process that only needs settings does not spawn channel or lock greenlets.
"""

#: Tango name of the Beacon device BeaconDB serves beside the database (configuration,
#: sessions, Redis URLs, locks): the one definition, for servers, clients and tests
BEACON_DEVICE = "sys/beacon/1"
