"""Settings: one YAML file (plus environment overrides) per process, every field defaulted.

Each component has its own pydantic model, made of small nested models whose every field has a
default and a description saying why it exists. Keys may be written in Armada's camelCase
(``schedulePeriod``) or in snake_case (``schedule_period``). Settings are read once, at process
start, and passed into the code that needs them: nothing reads them from globals.
"""

from armada.config.base import Duration, Settings
from armada.config.loader import ConfigError, load_settings

__all__ = ["ConfigError", "Duration", "Settings", "load_settings"]
