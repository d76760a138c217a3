"""Exchange with other organisations: what to send (pure decisions) and the delivery engine that
sends it from the transactional outbox (``adapter/store/outbox.py``)."""
