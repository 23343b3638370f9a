"""The FastAPI application and the `hazmat` command-line interface."""
