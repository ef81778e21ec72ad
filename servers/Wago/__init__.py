"""The Wago Tango server: a device per Wago coupler with BLISS's command set and an
attribute per logical name, and a device per valve or shutter it drives."""
