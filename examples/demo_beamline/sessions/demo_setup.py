# Setup of the demo session: runs in the session namespace when the session loads.
print("demo session ready: alignment peak of diode is near m0 = 2.5 mm")


def align_m0(start: float = 0.0, stop: float = 5.0, intervals: int = 20, count_time: float = 0.1) -> float:
    """Align m0 on the diode: ascan of m0 from start to stop, then m0 to the peak's centre.

    A procedure: any Tango client runs it with the session's Procedures device
    (demo/procedure/demo: RunProcedure(["align_m0", "0", "5"])), the shell with
    `runproc align_m0` (or in-process, `align_m0()`). Returns the centre found."""
    ascan(m0, start, stop, intervals, count_time, diode)
    centre = goto_cen(diode)
    print(f"m0 is at the centre of the diode peak: {centre:.4f} mm")
    return centre
