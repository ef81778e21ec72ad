"""The Tango database, as a library: what BeaconDB serves as the DataBase device (DB_DEVICE).

Nothing here knows a Tango device server; servers/BeaconDB puts a DataBase device in
front of it. Modules:

* store + props + patterns: the in-memory model (devices, aliases, property tables with
  history, Tango wildcards); every change goes through ``TangoStore.mutate``;
* journal: fsync'd journal + snapshot, so an acknowledged write survives ``kill -9``;
* config_service + yaml_sync: the YAML tree as source of truth, reload with validation;
* registry: the Db* command table (name -> types, handler(store, argin)); the handlers
  are in cmds_devices, cmds_props, cmds_misc, server_cache, sql_select;
* errors: the error value (reason, description, origin) a handler raises, with the
  reasons the C++ DataBaseds uses.
"""

#: Tango name of the DataBase device (the name every Tango client asks TANGO_HOST for)
DB_DEVICE = "sys/database/2"
