// Starts the example's TypeScript worker (worker.ts) under tsx's loader (Node 20 cannot strip types).
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
