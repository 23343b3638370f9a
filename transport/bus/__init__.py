"""The bus between the edge (gateway, HTTP, replay) and the workers: one interface, two buses."""
