"""BeaconDB: the Tango database (sys/database/2) and the Beacon device (sys/beacon/1).

Modules: main (CLI, process), db_device (DataBase device built from the command table in
registry; handlers in cmds_devices, cmds_props, cmds_misc, sql_select, server_cache),
store + props (in-memory model), journal (fsync'd journal + snapshot), yaml_sync + config_service
(YAML tree as source of truth, Reload), beacon_device, starter (Starter notices),
tango_run (fixed device names without a database), patterns (Tango wildcards).
"""
