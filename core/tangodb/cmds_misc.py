"""DbInfo, DbGetCSDbServerList, DbMySqlSelect (DbGetDataForServerCache: server_cache)."""

from __future__ import annotations

from . import DB_DEVICE, sql_select
from .registry import LONGSTRS, STR, STRS, VOID, db_command
from .store import TangoStore


@db_command(VOID, STRS)
def DbInfo(store: TangoStore, argin=None):
    with store.lock:
        devs = list(store.devices.values())
        t = store.tables
        dbdev = store.device(DB_DEVICE)
        return [
            f"TANGO Database {DB_DEVICE} (BeaconDB)", " ",
            f"Running since ...{dbdev.started if dbdev else '?'}", " ",
            f"Devices defined = {len(devs)}",
            f"Devices exported = {sum(1 for d in devs if d.exported)}",
            f"Device servers defined = {sum(1 for d in devs if d.klass == 'DServer')}",
            f"Device servers exported = {sum(1 for d in devs if d.klass == 'DServer' and d.exported)}",
            " ",
            f"Device properties defined = {t['device'].count()} [History lgth = {t['device'].hist_count()}]",
            f"Class properties defined = {t['class'].count()} [History lgth = {t['class'].hist_count()}]",
            f"Device attribute properties defined = {t['device_attr'].count()} "
            f"[History lgth = {t['device_attr'].hist_count()}]",
            f"Class attribute properties defined = {t['class_attr'].count()} "
            f"[History lgth = {t['class_attr'].hist_count()}]",
            f"Object properties defined = {t['object'].count()} [History lgth = {t['object'].hist_count()}]",
        ]


@db_command(VOID, STRS)
def DbGetCSDbServerList(store: TangoStore, argin=None):
    return list(store.served_at)


@db_command(STR, LONGSTRS)
def DbMySqlSelect(store: TangoStore, argin):
    return sql_select.select(store, argin)
