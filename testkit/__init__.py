"""Test doubles and helpers that the tests and the bench share: a fake Logflare (a real HTTP
server following Logflare's contract), a fake clock, headless Chromium. Not in the wheel."""
