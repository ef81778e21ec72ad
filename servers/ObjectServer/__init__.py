"""ObjectServer: configuration objects without a server of their own, as Tango devices."""
