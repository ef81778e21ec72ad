"""Communication helpers shared by controllers (gevent-friendly): Modbus TCP, retry back-off."""
