"""Dagster wiring only: thin assets over the plain functions of the package."""
