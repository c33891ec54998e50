"""The calibrated demo-export generator: see generator.py."""

from koryu_pipeline.demo.generator import EXPECTED, write_demo_exports

__all__ = ["EXPECTED", "write_demo_exports"]
