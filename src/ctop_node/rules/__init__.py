"""The Protocol's rules as pure decisions: a record in, an outcome out."""

from ctop_node.rules.outcome import Outcome, OutcomeKind
from ctop_node.rules.routing import NodePolicy, decide

__all__ = ["NodePolicy", "Outcome", "OutcomeKind", "decide"]
