"""Training: data, the train CLI, its report, and publishing to S3 (see the README)."""
