"""JSON Schemas of the project's file formats (``pyrat-replay/1``), shipped with the package."""
