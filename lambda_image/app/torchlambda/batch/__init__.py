"""Batch scoring: the functions a Step Functions Distributed Map runs over objects in S3.

``job`` validates a job and writes its summary; ``worker`` scores the objects of one batch of
items. Both run in the inference image under their own CMD; ``events`` is the contract between
them and the state machine.
"""
