"""Technical conditions: versioned schemas of every message, side by side."""

from ctop_node.tc.registry import DEFAULT_REGISTRY, TcRegistry, TcVersion, to_field_errors

__all__ = ["DEFAULT_REGISTRY", "TcRegistry", "TcVersion", "to_field_errors"]
