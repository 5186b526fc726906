"""Typed drivers of bench instruments (SCPI over pyvisa): DMM, DC supply, electronic load."""
