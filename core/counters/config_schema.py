"""Types of the keys the `counters` plugin reads (see core/config/schema.py)."""

KEYS = {
    "class": "text",
    "unit": "text",
    "axis": "ref",
    "center": "number",
    "fwhm": "number",
    "height": "number",
    "background": "number",
    "slope": "number",
    "noise": "number",
    "counters": "list",
}
