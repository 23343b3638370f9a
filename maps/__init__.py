"""Folium maps for supervisors, planners and alert evidence."""
