"""The live viewer: one poller per process fans recent entries out to websocket pages."""
