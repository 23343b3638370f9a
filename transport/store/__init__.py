"""Persistence: registries, waybills, check runs, accounts, alerts, track points, restriction
layer versions; SQLAlchemy tables, migrations, queries.

Store functions take the session first and everything else by keyword, know nothing of HTTP,
and always take a carrier scope (``carrier_id=...`` or ``all_carriers=True``).
"""
