"""A faithful local replica of ExoFOP-TESS, served over real sockets on 127.0.0.1.

    from exofop_mcp.replica import Replica, ReplicaConfig

    with Replica(ReplicaConfig(latency=0.05, accounts={"alice": "s3cret"})) as replica:
        url = f"{replica.base_url}/tess/download_toi.php?output=pipe"

See ``dataset`` for the ids of the curated systems and special tags, ``config`` for every setting.
"""

from exofop_mcp.replica.config import ReplicaConfig, parse_size
from exofop_mcp.replica.lifecycle import Replica
from exofop_mcp.replica.request_log import RequestRecord

__all__ = ["Replica", "ReplicaConfig", "RequestRecord", "parse_size"]
