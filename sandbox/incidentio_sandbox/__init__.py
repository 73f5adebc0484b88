"""A local stand-in for incident.io, for tests, benchmarks and a first run.

Stands apart from ``target_incidentio`` on purpose: it knows only incident.io's
published API, so the target is tested against the contract, not itself.
"""

from incidentio_sandbox.app import SandboxApp
from incidentio_sandbox.config import SandboxConfig
from incidentio_sandbox.faults import Fault, FaultConfig, ScriptedFault
from incidentio_sandbox.seed import Seed
from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource
from incidentio_sandbox.seed.catalog import CatalogAttribute, CatalogType
from incidentio_sandbox.seed.configuration import CustomField
from incidentio_sandbox.server import Sandbox, SandboxHTTPServer

__all__ = [
    "AlertSource",
    "CatalogAttribute",
    "CatalogType",
    "CustomField",
    "Fault",
    "FaultConfig",
    "HeartbeatSource",
    "Sandbox",
    "SandboxApp",
    "SandboxConfig",
    "SandboxHTTPServer",
    "ScriptedFault",
    "Seed",
]
