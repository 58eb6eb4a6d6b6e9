"""What a run is asked to do: the recipe schema, the method registry, loading and overrides, data checks, model
references."""
