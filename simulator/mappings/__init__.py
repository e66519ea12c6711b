"""Lambda's event source mappings for SQS: what a mapping is (models.py), which messages it passes
(filters.py), the event the function receives (sqs_event.py), how a partial batch response is read
(outcome.py), where mappings are kept and changed (store.py, service.py) and where they are declared
(declarations.py). The poller that runs them lives beside these, in its own modules.
"""
