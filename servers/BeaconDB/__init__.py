"""BeaconDB"""
