"""`LimaSimulator <instance>`: a LimaCCDs-compatible server over a simulated camera."""
