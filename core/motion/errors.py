"""Motion errors: each message names the axis and the offending value."""


class MotionError(RuntimeError):
    """A motion request that cannot be carried out (bad value, fault, discrepancy)."""


class LimitError(MotionError):
    """A target outside software limits, or a motion stopped by a hardware limit."""


class EncoderDiscrepancyError(MotionError):
    """The encoder disagrees with the motor position by more than the tolerance."""
