"""The model: its one definition, its artifact and identity, and the proof that it stays finite.

Imported by the inference handler in the image and by training and the ops tools in the
repository, always as ``torchlambda.predictor``; it imports nothing from the rest of the
repository.
"""
