"""Run the target with `python -m target_incidentio`."""

from target_incidentio.target import TargetIncidentIO

TargetIncidentIO.cli()
