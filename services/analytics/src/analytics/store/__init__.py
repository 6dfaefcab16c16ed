"""The analytics store: ClickHouse SQL behind one small port (chDB in process, or a server)."""
