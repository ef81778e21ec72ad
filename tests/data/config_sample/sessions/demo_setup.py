# Setup of the demo session: runs in the session namespace when the session loads.
print("demo session ready: alignment peak of diode is near m0 = 2.5 mm")
