"""Event source mappings: Lambda polling an SQS queue and invoking a function with batches."""
