"""Services of porewatch: acquisition, ingest, pipeline, outputs and the CLI."""
