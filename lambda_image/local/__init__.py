"""Development tools that run the function's handler on this machine (not shipped in the image)."""
