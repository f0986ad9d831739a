"""Refusals of staff operations, in words for the operator."""


class MappingError(Exception):
    """The operation was refused; the message says why, for the operator."""
