"""`make logs`: the inference function's log group, found and followed until Ctrl-C."""
