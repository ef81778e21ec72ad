"""BeaconDB: the Tango database (sys/database/2) and the Beacon device (sys/beacon/1).

A thin Tango face over blisstango.core.tangodb (the database as a library: store,
journal, YAML sync, the Db* command table and handlers). Modules: main (CLI, process),
db_device (the DataBase device built from the command table; DbError -> DevFailed),
beacon_device, starter (Starter notices), tango_run (fixed device names without a
database).
"""
