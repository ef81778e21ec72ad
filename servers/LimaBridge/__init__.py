"""`LimaBridge <instance>`: configured 2D detectors as Tango devices over LimaCCDs."""
