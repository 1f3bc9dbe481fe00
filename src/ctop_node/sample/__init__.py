"""Realistic, deterministic sample records for tests, demos and benchmarks."""

from ctop_node.sample._faults import FAULT_CODES
from ctop_node.sample.generator import EPOCH, Sample, generate, samples

__all__ = ["EPOCH", "FAULT_CODES", "Sample", "generate", "samples"]
