import { ConfigError, validateConfig } from '../../src/config/load.js';

/** The problems validateConfig names for `doc` (each with its key), or [] when it is valid. */
export function configProblems(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
