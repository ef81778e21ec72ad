"""2D detectors the Lima way: frame encodings, a simulated camera with its saving and
processing (ROI counters, BPM), and the client side of the LimaCCDs protocol."""
