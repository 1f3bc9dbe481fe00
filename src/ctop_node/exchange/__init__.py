"""What both channels share above the store: the two-stage check of an authenticated message.

The online channel and the smart-lock channel do not know each other; they both call this and
meet in the store's inbox.
"""
