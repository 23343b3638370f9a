"""Trucks, cargo and monitoring: goods, registries, waybills, fixes, rules, alerts and the pipeline."""
