"""MAIL FROM domains: the seed-002 API's use cases, Route 53 publishing and the status watcher."""
