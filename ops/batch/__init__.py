"""`make batch`: stage the input in the artifacts bucket, start (or resume) the environment's batch
job, follow it on one status line, and report its summary."""
