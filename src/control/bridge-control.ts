import type { FastifyInstance } from 'fastify';
import type { Secrets } from '../config/load.js';
import type { ConfigFile } from '../config/schema.js';
import type { Readiness } from '../http/readiness.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import { registerAdminApi } from './admin-api.js';
import { createControlPlane, type ControlPlane } from './control-plane.js';
import type { PermissionGate } from './permission-gate.js';

/**
 * The control plane inside `watrunk start` (src/bridge.ts calls these and nothing else):
 *   const control = createBridgeControl({ config, secrets, logger, metrics, readiness });  // before the dispatcher
 *   await control.attach(app);            // after buildHttpApp: admin API, start-up SIP mode check
 *   control.handleEvent(event, number);   // account.notice (and permission.replied) from the dispatcher
 *   await control.close();                // in stop()
 */
export interface BridgeControl {
  plane: ControlPlane;
  /** PermissionGate.decide(trunk.permission_policy, numberName, callee) before `connect`. */
  permissionGate: PermissionGate;
  attach(app: FastifyInstance): Promise<void>;
  handleEvent(event: WhatsAppEvent, numberName: string | undefined): void;
  close(): Promise<void>;
}

export function createBridgeControl(deps: {
  config: ConfigFile; secrets: Secrets; logger: Logger; metrics: Metrics; readiness: Readiness;
}): BridgeControl {
  const { config, secrets, logger } = deps;
  const plane = createControlPlane({ config, accessTokens: secrets.accessTokens, logger, metrics: deps.metrics });
  for (const { name, check } of plane.readinessChecks()) deps.readiness.register(name, check);
  const log = logger.child({ component: 'control' });
  return {
    plane,
    permissionGate: plane.permissionGate,
    async attach(app) {
      if (config.admin) {
        if (!secrets.adminToken) {
          log.error({ tokenEnv: config.admin.token_env }, 'admin API disabled: no admin token');
        } else {
          await registerAdminApi(app, {
            plane, token: secrets.adminToken, prefix: config.admin.path_prefix, trunks: config.trunks,
            credentialsStateFile: config.admin.credentials_state_file,
          });
          log.info({ prefix: config.admin.path_prefix }, 'admin API enabled');
        }
      }
      // docs/whatsapp-calling.md#sip-mode: a mode mismatch makes calls fail silently. Checked in the background so a slow
      // Graph API does not delay start-up; the result is logged and shown in /readyz (sip_mode).
      void plane.checkSipModes();
    },
    handleEvent: (event, numberName) => plane.handleEvent(event, numberName),
    close: () => plane.close(),
  };
}
