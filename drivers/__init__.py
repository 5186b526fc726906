"""Device drivers: one interface per device kind, one implementation per vendor.

Nothing here imports pytest or rackval's plugin; the same drivers talk to real
devices and to the simulators, only the endpoint differs.
"""
