// The addon's collectives for lib/distributed (lib/native/ is the only importer of the addon):
// undefined when the addon was built without MPI.
import type { DistBinding } from './dist_binding.js';
import { native } from './load.js';

export function distAddon(): DistBinding | undefined {
  return native().dist;
}
