"""The job queue: fair ordering, limits, estimates (pure), the in-memory queue, the worker, its messenger."""
