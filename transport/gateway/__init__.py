"""Terminal gateway: JT/T 808 frames and messages, and the transports that carry them."""
