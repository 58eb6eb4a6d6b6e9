"""Whether a run went well: red-flag rules, `reins health`, the post-training report and its judges."""
