"""Names CDK derived from construct paths when every stack sat at the top of the app.

Each environment is a stage now, so a construct's path starts `<env>/<Component>` instead of the
stack's name, and a name generated from the path would change. Where such a name is a
replacement property of a deployed resource, pinning the old value keeps deploys in place.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Names, Stack
from constructs import Construct


def name_before_stages(scope: Construct, *child_ids: str) -> str:
    """What `Names.uniqueId` gave the construct `scope/child_ids` when its stack was a top-level
    construct whose id was the stack's name: the path's alphanumerics, then the first 8 hex digits
    of its md5 (CDK's makeUniqueId, for paths that hold no `Default` or `Resource` id)."""
    stack = Stack.of(scope)
    path = [stack.stack_name, *Names.stack_relative_construct_path(scope).split("/"), *child_ids]
    digest = hashlib.md5("/".join(path).encode(), usedforsecurity=False).hexdigest()
    return "".join(re.sub(r"[^A-Za-z0-9]", "", part) for part in path) + digest[:8].upper()
