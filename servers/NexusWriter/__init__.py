"""NexusWriter: the Tango server that writes scans from the data Redis into NeXus files."""
