"""The Taurus GUI of a blisstango session: panels (synoptic, motors, scans, detectors,
MCA, regulation, Wago), the live scan plot and control-room synoptics (JDraw)."""
