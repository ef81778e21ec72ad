"""AxisManager"""
