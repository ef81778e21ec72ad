"""Moved to tests/helpers/demo_stack.py (the one demo-stack helper); this name is kept
until every branch imports demo_stack."""

from .demo_stack import DemoStack, blisstango  # noqa: F401
