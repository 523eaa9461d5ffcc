"""Model definition and artifact loading, shared by the inference handler and by training.

Ships inside the inference image (as the top-level package ``predictor``) and is imported by the
training code from the repository (as ``lambda_image.app.predictor``); it must import nothing else
from the repository.
"""
