"""Readers and writers, one per file format."""
