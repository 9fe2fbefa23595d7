#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm run build` (run by
// `npm ci` through `prepare`) produces it.
import "../dist/cli/main.js";
