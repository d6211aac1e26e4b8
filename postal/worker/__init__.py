"""The worker: claims queued messages, runs them through the pipelines, records outcomes."""
