"""beacon"""
