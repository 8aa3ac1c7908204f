"""mongooseim-metrics-bridge: MongooseIM system metrics, read from outside the VM, sent to GA4."""

__all__ = ["__version__"]

__version__ = "0.1.0"
