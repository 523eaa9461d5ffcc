"""``make bench-train``: our trainer and the book's procedure on the same data, side by side."""
