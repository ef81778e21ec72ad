"""Mca: one Tango device per configured multi-channel analyzer."""
