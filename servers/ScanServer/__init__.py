"""ScanServer: one Tango device per session that runs scans (DESIGN.md §5)."""
