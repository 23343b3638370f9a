"""Sub-commands of the `hazmat` command-line interface, one module per topic."""
