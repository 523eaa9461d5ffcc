"""The model lifecycle: evaluate a candidate against the champion, gate it, promote it
(docs/lifecycle.md). The retrain workflow runs these as functions of the image; the ops tools
import them for `make promote` and `make champion`."""
