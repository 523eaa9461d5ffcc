"""One frozen section per capability of an environment, each listing its own faults.

``infra.config`` composes them into an ``EnvironmentConfig``. No ``aws_cdk`` import anywhere here:
the ops tools and the tests read these modules cheaply.
"""
