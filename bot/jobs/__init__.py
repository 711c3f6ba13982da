"""The job queue: fair ordering, limits and estimates (pure), the in-memory queue, the worker and its messenger."""
