"""BeaconDB: the Tango database (core.tangodb.DB_DEVICE) and the Beacon device (core.beacon.BEACON_DEVICE).

A thin Tango face over blisstango.core.tangodb (the database as a library: store,
journal, YAML sync, the Db* command table and handlers). Modules: main (CLI, process),
db_device (the DataBase device built from the command table; DbError -> DevFailed),
beacon_device, starter (Starter notices), tango_run (fixed device names without a
database).
"""
