"""Settings every test shares."""

import os

# jsii (behind aws_cdk) prints a banner on Node 20 for every process that imports it.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
