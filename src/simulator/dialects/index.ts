import type { FastifyInstance } from 'fastify';
import type { SimulatorRuntime } from '../runtime.js';
import { registerCamsRoutes } from './cams-routes.js';
import { registerConceptoMovilRoutes } from './conceptomovil-routes.js';
import { registerD360Routes } from './d360-routes.js';

/** The other providers' APIs on the simulator's port, for the dialects its numbers use (config `numbers[].dialect`). */
export function registerDialectRoutes(app: FastifyInstance, rt: SimulatorRuntime): void {
  const used = new Set([...rt.numbers.values()].map((n) => n.config.dialect));
  if (used.has('360dialog')) registerD360Routes(app, rt);
  if (used.has('cams')) registerCamsRoutes(app, rt);
  if (used.has('conceptomovil')) registerConceptoMovilRoutes(app, rt);
}
