"""Starting runs: the detached launcher, resume, pipelines, pre-flight warnings, multi-process and SLURM launch
files, and the secrets kept out of workers."""
