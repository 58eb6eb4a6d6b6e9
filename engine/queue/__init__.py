"""The run store's queue: queued runs, the store-wide settings, GPU placement and the detached scheduler."""
