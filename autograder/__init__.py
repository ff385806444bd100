"""Checks, nbgrader configuration and the grading command of the dropout module."""
