"""Agent backends behind one interface: scripted (offline default), anthropic, openai-compatible."""
