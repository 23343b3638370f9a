"""Pipeline steps, one module each; `transport.pipeline.chain` decides their order."""
