#!/usr/bin/env node
// The container health probe (the Dockerfile's HEALTHCHECK, docker-compose.yml): exits 0 when
// the URL answers 2xx within 4 s, 1 otherwise. The image has no shell and no curl; Node has fetch.
const url = process.argv[2];
if (!url) {
  console.error('usage: healthcheck.js URL');
  process.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
