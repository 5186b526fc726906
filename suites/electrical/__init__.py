"""Electrical acceptance suite: station instruments on the rack's test points."""
