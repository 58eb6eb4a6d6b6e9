"""How much GPU memory a run needs, before it starts: architectures, the catalogue, the memory model, GPU detection."""
