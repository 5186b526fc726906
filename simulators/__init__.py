"""Real-protocol simulators of the rack's devices, and the simulated rack that runs them.

Simulators never import :mod:`drivers`: a simulator built from the driver's
own code would agree with the driver's bugs.
"""
