"""The IcePAP board status word (?FSTATUS / ?STATUS) in BLISS's axis states.

Bits, from the IcePAP user manual's board status register: 0-1 presence/alive, 2-3 mode
(OPER, PROG, TEST, FAIL), 4-6 disable code, 7-8 indexer, 9 READY, 10 MOVING,
11 SETTLING, 12 OUTOFWIN, 13 WARNING, 14-17 stop code of the last motion, 18 LIMIT+,
19 LIMIT-, 20 HOME, 21 5V power, 22 version error, 23 POWERON.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..state import AxisState

MODES = {0: "OPER", 1: "PROG", 2: "TEST", 3: "FAIL"}
DISABLE_CODES = {
    1: "axis configured as not active",
    2: "hardware alarm",
    3: "remote rack disable input signal",
    4: "local rack disable switch",
    5: "remote axis disable input signal",
    6: "local axis disable switch",
    7: "software disable",
}
STOP_CODES = {
    0: "end of movement",
    1: "stopped by a STOP command",
    2: "stopped by an ABORT",
    3: "positive limit switch reached",
    4: "negative limit switch reached",
    5: "settling timeout",
    6: "axis disabled",
    8: "internal failure",
    9: "motor failure",
    10: "power overload",
    11: "driver overheating",
    12: "closed loop error",
    13: "control encoder error",
    15: "external alarm",
}


@dataclass(frozen=True)
class BoardStatus:
    word: int

    @property
    def alive(self) -> bool:
        return self.word & 0x3 == 0x3

    @property
    def mode(self) -> str:
        return MODES[(self.word >> 2) & 0x3]

    @property
    def disable(self) -> int:
        return (self.word >> 4) & 0x7

    @property
    def ready(self) -> bool:
        return bool(self.word & (1 << 9))

    @property
    def moving(self) -> bool:
        return bool(self.word & (1 << 10 | 1 << 11))  # moving, or settling in closed loop

    @property
    def stop_code(self) -> int:
        return (self.word >> 14) & 0xF

    @property
    def limit_pos(self) -> bool:
        return bool(self.word & (1 << 18))

    @property
    def limit_neg(self) -> bool:
        return bool(self.word & (1 << 19))

    @property
    def home(self) -> bool:
        return bool(self.word & (1 << 20))

    @property
    def power(self) -> bool:
        return bool(self.word & (1 << 23))

    def axis_state(self) -> AxisState:
        """READY/MOVING, OFF (power), DISABLED (disable code, PROG/TEST mode), FAULT (not
        alive, FAIL mode, hardware alarm, a last motion ended by a failure), LIMPOS/LIMNEG
        (the switches' signals), HOME; the reason of a FAULT or DISABLED as its own state."""
        st = AxisState()
        if self.moving:
            st.set("MOVING")
        elif self.ready:
            st.set("READY")
        if not self.power:
            st.set("OFF")
        reasons = []
        if not self.alive:
            reasons.append("board not present or not alive")
        if self.mode == "FAIL":
            reasons.append("board in FAIL mode")
        if self.disable == 2:
            reasons.append("hardware alarm")
        if not self.moving and self.stop_code >= 5 and self.stop_code != 6:
            reasons.append(f"last motion ended by {STOP_CODES.get(self.stop_code, f'stop code {self.stop_code}')}")
        if reasons:
            st.set("FAULT")
        elif self.disable and not (self.disable == 7 and not self.power) or self.mode in ("PROG", "TEST"):
            st.set("DISABLED")
            reasons.append(DISABLE_CODES.get(self.disable, f"board in {self.mode} mode"))
        if self.limit_pos:
            st.set("LIMPOS")
        if self.limit_neg:
            st.set("LIMNEG")
        if self.home:
            st.set("HOME")
        for reason in reasons:
            st.create_state(reason.upper().replace(" ", "_")[:40], reason)
            st.set(reason.upper().replace(" ", "_")[:40])
        return st
