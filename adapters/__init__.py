"""One adapter per platform: translate inbound payloads to Requests, render Replies, send to Addresses."""
