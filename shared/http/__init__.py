"""The HTTP half of every process: the app factory and its error shape, serving, the internal-route guard and the
caller that the gateway vouches for."""
