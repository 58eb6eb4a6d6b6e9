"""Writing a finished run's model for use outside Reins: a standalone folder or the adapter, with a model card."""
