"""The internal HTTP contracts between services, as pydantic models both sides parse."""
