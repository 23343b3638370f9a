"""The worker pipeline: fixes read from the bus run through an ordered chain of steps."""
