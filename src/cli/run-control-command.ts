import { ConfigError } from '../config/load.js';
import { UnknownNumberError } from '../calls/number-directory.js';
import { ProviderError } from '../calls/ports/whatsapp-errors.js';
import { openControlContext, type ControlContext, type OpenOptions } from './control-context.js';
import { EXIT, processIo, type CliIo } from './output.js';

export const DEFAULT_CONFIG = 'config/watrunk.yaml';

/**
 * Runs one control command: opens the config and control plane, runs `fn`, closes, and turns
 * errors into a message and an exit code (2: configuration or unknown number, 1: anything else).
 * Error texts come from ConfigError / ProviderError, which never carry tokens or passwords.
 */
export async function runControlCommand(
  configFile: string,
  fn: (ctx: ControlContext, io: CliIo) => Promise<number>,
  opts: OpenOptions & { io?: CliIo } = {},
): Promise<number> {
  const io = opts.io ?? processIo;
  let ctx: ControlContext | undefined;
  try {
    ctx = openControlContext(configFile, opts);
    return await fn(ctx, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UnknownNumberError) {
      io.err(`watrunk: ${err.message}`);
      return EXIT.config;
    }
    if (err instanceof ProviderError) {
      const code = err.code !== undefined ? ` (code ${err.code})` : '';
      io.err(`watrunk: the WhatsApp API refused or failed the request${code}: ${err.message}${err.traceId ? ` [fbtrace_id ${err.traceId}]` : ''}`);
      return EXIT.failed;
    }
    io.err(`watrunk: ${(err as Error)?.message ?? String(err)}`);
    return EXIT.failed;
  } finally {
    await ctx?.close();
  }
}
