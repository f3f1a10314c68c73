"""The GPU catalogue: one TOML file per card (schema in docs/hardware.md), shipped as package data
`costmodel.catalogue` and registered by the built-in plugin `costmodel_core`."""
