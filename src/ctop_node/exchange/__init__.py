"""What both channels share above the store: the message check (``checks``), THE receive
path (``receive``: check -> inbox -> answer) and the rejection-code table (``codes``).

The online channel and the smart-lock channel do not know each other; they both call
``receive`` and meet there. Only ``receive`` feeds the store's inbox.
"""
