"""Which servers run on which host: the YAML's `hosts` block as `blisstango up --host`
and a Tango Starter read it, and the table `blisstango status` prints from the database.

A server's place is Tango's server info (host, mode, level). The configuration tree
holds it (core.config.tango_view: the globals block's `hosts`), BeaconDB serves it
(DbGetServerInfo, DbGetHostServersInfo) and writes DbPutServerInfo back to YAML.
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import implied_servers
from blisstango.core.config.tango_view import ServerInfo, tango_view


def _by_level(placed: list[tuple[int, str, str]]) -> list[tuple[str, str]]:
    return [(server, instance) for _level, server, instance in sorted(placed)]


def _started(mode: int, level: int) -> bool:
    """As a Starter does: a controlled server (mode 1) with a start level (> 0)."""
    return mode != 0 and level > 0


def tree_host_servers(tree: Any, host_name: str | None,
                      unplaced: bool = True) -> list[tuple[str, str]]:
    """The suite servers `blisstango up` starts: all of them when host_name is None, else
    those the tree places on host_name (controlled, with a level) and, with `unplaced`
    (the host that runs the database), those it places nowhere; level by level."""
    info = tango_view(tree).server_info
    placed = []
    for server, instance in implied_servers(tree):
        where: ServerInfo | None = info.get(f"{server}/{instance}".lower())
        if where is None:
            if unplaced or host_name is None:
                placed.append((1, server, instance))
        elif host_name is None:
            placed.append((max(where.level, 1), server, instance))
        elif where.host.lower() == host_name.lower() and _started(where.mode, where.level):
            placed.append((where.level, server, instance))
    return _by_level(placed)


def database_host_servers(host_name: str) -> list[tuple[str, str]]:
    """The servers the database places on host_name with a start level (what its Starter
    would start), level by level, from DbGetHostServersInfo."""
    import tango

    reply = list(tango.Database().command_inout("DbGetHostServersInfo", host_name))
    placed = []
    for i in range(0, len(reply) - 2, 3):
        full, mode, level = reply[i:i + 3]
        try:
            mode_n, level_n = int(mode), int(level)
        except ValueError:
            continue
        if _started(mode_n, level_n) and "/" in full:
            server, instance = full.split("/", 1)
            placed.append((level_n, server, instance))
    return _by_level(placed)


def host_table(db: Any) -> list[dict[str, Any]]:
    """Every server the database knows with its place and state: host (server info, else
    where it last ran), level, mode, exported, pid, where it runs now."""
    rows = []
    for full in db.get_server_list("*"):
        if full.lower().startswith(("databaseds/", "starter/")):
            continue
        info = db.command_inout("DbGetServerInfo", full)
        try:
            dev = db.get_device_info(f"dserver/{full}")
            exported, pid, ran_on = bool(dev.exported), dev.pid, dev.host
        except Exception:  # noqa: BLE001 - a server defined but never started
            exported, pid, ran_on = False, 0, ""
        placed = info[1].strip()
        rows.append({"server": full, "host": placed or ran_on or "-", "placed": bool(placed),
                     "mode": info[2].strip() or "-", "level": info[3].strip() or "-",
                     "running": exported, "pid": pid if exported else None,
                     "runs_on": ran_on if exported else None})
    rows.sort(key=lambda r: (r["host"], r["level"], r["server"]))
    return rows


def print_host_table(rows: list[dict[str, Any]]) -> None:
    host = None
    for r in rows:
        if r["host"] != host:
            host = r["host"]
            print(f"  host {host}" + ("" if r["placed"] else " (not placed in YAML: where it last ran)"))
        state = f"running pid {r['pid']}" if r["running"] else "stopped"
        if r["running"] and r["runs_on"] and r["runs_on"] != r["host"]:
            state += f" on {r['runs_on']}"
        print(f"    {r['server']:32} level {r['level']:>2}  mode {r['mode']:>2}  {state}")
