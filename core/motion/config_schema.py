"""Types of the keys the `emotion` plugin reads (see core/config/schema.py)."""

KEYS = {
    "unit": "text",
    "steps_per_unit": "number",
    "velocity": "number",
    "acceleration": "number",
    "low_limit": "number_or_none",
    "high_limit": "number_or_none",
    "backlash": "number",
    "tolerance": "number",
    "offset": "number",
    "sign": "sign",
    "polling_time": "number",
    "read_latency": "number",
    "settling_time": "number",
}

#: units of the numeric keys, for forms and messages (per the axis `unit`)
UNITS = {
    "velocity": "{unit}/s",
    "acceleration": "{unit}/s²",
    "low_limit": "{unit}",
    "high_limit": "{unit}",
    "backlash": "{unit}",
    "tolerance": "{unit}",
    "offset": "{unit}",
    "steps_per_unit": "steps/{unit}",
}
