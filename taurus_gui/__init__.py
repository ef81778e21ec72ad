"""taurus_gui"""
