"""The batch stage: claim a batch from the queue, dedupe, sample, and write the results (recent
entries for the page, encoded events for the outbox) in the transaction that finishes the
claim; and the purge of expired recent entries (a stage).
"""
