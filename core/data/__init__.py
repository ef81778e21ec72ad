"""Scan data: publishing to the data Redis, reading it live, SCAN_SAVING."""

from .publisher import ScanPublisher, delete_scan
from .reader import Batch, ScanReader, SessionWatcher, recent_scans
from .scan_saving import ScanSaving

__all__ = ["ScanPublisher", "delete_scan", "Batch", "ScanReader", "SessionWatcher", "recent_scans",
           "ScanSaving"]
