"""TorchLambda's runtime: what ships in the inference image, and what training shares with it.

``contract`` holds the names every part shares; ``predictor`` the model; ``function`` builds the
Lambda function (``handler`` is its entry point) from ``api`` (routing and answers), ``request`` and
``validation`` (parsing), ``inference`` (the hot path) and ``observability``. Importing this package
imports nothing: the CDK app and the ops tools read ``contract`` without torch.
"""
