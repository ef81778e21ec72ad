"""Helpers shared by the tests: free ports, process start and clean-up by pid."""
