"""Trucks, cargo and monitoring: goods, registries, waybills, fixes, rules, alerts, pipeline."""
