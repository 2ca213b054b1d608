// Registers tsx in the checkpoint writer thread when the library runs from its TypeScript
// sources (see workerEntry in file-plan.ts); never used by the built package.
import { register } from "tsx/esm/api";

register();
