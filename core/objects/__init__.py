"""Any configuration object served as it is: its configuration, public properties and
methods typed from their annotations (members), announced changes (announce), and the
`object` config plugin for a beamline's own classes (plugin). The Tango face is the
ObjectServer (servers/ObjectServer)."""
