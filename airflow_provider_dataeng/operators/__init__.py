"""Operators: validate arguments, call hooks and pure builders, log progress, return small summaries."""
