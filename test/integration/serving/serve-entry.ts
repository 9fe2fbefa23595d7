// What `stylekube serve` runs, started as its own process by the tests (the
// CLI wiring lives in cli/main.ts; this keeps the tests independent of it).
import { serveMain } from "../../../serving/main.js";

process.exitCode = await serveMain();
